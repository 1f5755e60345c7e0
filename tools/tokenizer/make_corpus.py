#!/usr/bin/env python3
"""Writes the tokenizer test corpus: tests/unit/tokenizer/testdata/corpus.jsonl.

One JSON string per line (so entries can hold newlines, tabs, NUL and any Unicode). The corpus is
deterministic for a given source tree: the seed fragments live in corpus_seeds.py, and the code
samples are cut from this repository's own C++/Python/CMake files. The committed corpus is the
source of truth; rerun this only to extend it, then rerun make_expected.py.

Usage: make_corpus.py [--out PATH] [--seed N]
"""
import argparse
import json
import pathlib
import random
import unicodedata

import corpus_seeds as S

REPO = pathlib.Path(__file__).resolve().parents[2]


def repo_code_chunks(rng, count):
    files = []
    for pattern in ("ops/**/*.cc", "ops/**/*.h", "shard/**/*.cc", "shard/**/*.h", "tools/cli/*.cc",
                    "tools/golden/*.py", "**/CMakeLists.txt", "scripts/*.sh"):
        files += [p for p in REPO.glob(pattern) if "build" not in p.parts[len(REPO.parts)]]
    files = sorted(set(files))
    chunks = []
    while len(chunks) < count and files:
        path = rng.choice(files)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        if not lines:
            continue
        start = rng.randrange(len(lines))
        text = "".join(lines[start:start + rng.randint(1, 12)])[:700]
        r = rng.random()
        if r < 0.2:  # re-indent with tabs
            text = "\n".join(l.replace("    ", "\t") for l in text.split("\n"))
        elif r < 0.3:  # CRLF line endings
            text = text.replace("\n", "\r\n")
        elif r < 0.4:  # deep indentation: long runs of spaces
            text = "\n".join(" " * rng.randint(8, 40) + l for l in text.split("\n"))
        chunks.append(text)
    return chunks


def vary_case(rng, s):
    r = rng.random()
    if r < 0.15:
        return s.upper()
    if r < 0.25:
        return s.lower()
    if r < 0.3:
        return s.swapcase()
    if r < 0.35:
        return s.title()
    return s


def contraction_lines(rng, count):
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.3:
                parts.append(rng.choice(S.CONTRACTION_BASES))
            else:
                parts.append(rng.choice(S.CONTRACTION_WORDS) + rng.choice(S.CONTRACTION_SUFFIXES))
        sep = rng.choice([" ", " ", "  ", "\n", ", ", "\t", ""])
        out.append(vary_case(rng, sep.join(parts)))
    return out


def number_lines(rng, count):
    templates = ["The total was {} units.", "{} + {} = ?", "Call {} now", "{}", "({}, {})",
                 "x={};y={}", "Between {} and {} items", "{}{}{}", "id:{} ver {}"]
    out = []
    for _ in range(count):
        t = rng.choice(templates)
        vals = [rng.choice(S.NUMBERS) if rng.random() < 0.6 else str(rng.randint(0, 10 ** rng.randint(1, 12)))
                for _ in range(t.count("{}"))]
        out.append(t.format(*vals))
    return out


def sample_join(rng, pool, lo, hi, seps=(" ", "", "\n", " ")):
    return rng.choice(seps).join(rng.choice(pool) for _ in range(rng.randint(lo, hi)))


def long_words(rng):
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    cjk = [chr(c) for c in range(0x4E00, 0x9FA5)]
    hangul = [chr(c) for c in range(0xAC00, 0xD7A3)]
    deva = [chr(c) for c in range(0x0915, 0x0939)] + ["\u093e", "\u093f", "\u0940", "\u094d", "\u0902"]
    emoji = [chr(c) for c in range(0x1F600, 0x1F64F)] + ["\U0001F3FD", "\u200d", "\ufe0f"]
    return [
        "a" * 1000, "x" * 5000, "pneumonoultramicroscopicsilicovolcanoconiosis" * 20,
        "".join(rng.choice("0123456789") for _ in range(600)), "ab" * 400,
        "".join(rng.choice(b64) for _ in range(1024)) + "==",
        "https://example.com/" + "/".join("seg%d" % i for i in range(60)) + "?q=" + "z" * 50,
        " " * 2000, "\t" * 300, "\n" * 300, "\r\n" * 100, " " * 500 + "word" + " " * 500,
        "".join(rng.choice(cjk) for _ in range(400)), "".join(rng.choice(hangul) for _ in range(300)),
        "".join(rng.choice(emoji) for _ in range(200)), "a" + "\u0301" * 300,
        "".join(rng.choice(deva) for _ in range(500)), "-" * 500, "=" * 300, "." * 1000,
        "Supercalifragilisticexpialidocious" * 15, "ÄÖÜäöüß" * 100, "'s" * 200, "'S'll" * 100,
        "<|im_end|>" * 100, "9" * 3000, "_" * 400 + "name" + "_" * 400,
        "Donaudampfschifffahrtsgesellschaftskapitänswitwe" * 8,
        "".join(rng.choice(b64 + " \t\n") for _ in range(1500)),
    ]


def mixed_lines(rng, count, pools):
    out = []
    for _ in range(count):
        parts = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 6))]
        text = "".join(p + rng.choice([" ", "", "\n", "  ", "\t", ", "]) for p in parts)
        if rng.random() < 0.15:
            text = unicodedata.normalize("NFD", text)
        out.append(vary_case(rng, text))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / "tests/unit/tokenizer/testdata/corpus.jsonl"))
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    scripts = (S.CHINESE + S.JAPANESE + S.KOREAN + S.ARABIC + S.HEBREW + S.INDIC +
               S.SOUTHEAST_ASIAN + S.OTHER_SCRIPTS)
    pools = [S.ENGLISH, S.NUMBERS, S.CODE, scripts, S.COMBINING, S.EMOJI, S.WHITESPACE,
             S.SPECIAL_INLINE, S.CONTRACTION_BASES]
    lines = []
    # Every seed on its own.
    for pool in pools:
        lines += pool
    # Combinations per category.
    lines += [vary_case(rng, sample_join(rng, S.ENGLISH, 1, 5)) for _ in range(250)]
    lines += contraction_lines(rng, 200)
    lines += number_lines(rng, 150)
    lines += repo_code_chunks(rng, 300)
    lines += [sample_join(rng, S.CODE, 1, 3, ("\n", "\n\n", "\t")) for _ in range(60)]
    lines += [sample_join(rng, S.CHINESE + S.JAPANESE + S.KOREAN, 1, 4) for _ in range(150)]
    lines += [sample_join(rng, S.ARABIC + S.HEBREW, 1, 4) for _ in range(110)]
    lines += [sample_join(rng, S.INDIC + S.SOUTHEAST_ASIAN, 1, 4) for _ in range(150)]
    lines += [vary_case(rng, sample_join(rng, S.OTHER_SCRIPTS, 1, 4)) for _ in range(100)]
    lines += [sample_join(rng, S.COMBINING + S.OTHER_SCRIPTS, 1, 5) for _ in range(60)]
    lines += [unicodedata.normalize(rng.choice(["NFD", "NFKD", "NFC"]), sample_join(rng, scripts + S.ENGLISH, 1, 3))
              for _ in range(80)]
    lines += [sample_join(rng, S.EMOJI + S.ENGLISH, 1, 5) for _ in range(120)]
    lines += [sample_join(rng, S.WHITESPACE + S.ENGLISH[:5], 2, 6, ("",)) for _ in range(120)]
    lines += [sample_join(rng, S.SPECIAL_INLINE + S.ENGLISH + S.CHINESE, 2, 5, ("", " ", "\n"))
              for _ in range(150)]
    lines += long_words(rng)
    lines += mixed_lines(rng, 300, pools)

    with open(args.out, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    total = sum(len(l.encode("utf-8")) for l in lines)
    print(f"wrote {len(lines)} entries, {total} bytes of text to {args.out}")


if __name__ == "__main__":
    main()
