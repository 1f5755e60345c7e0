#!/usr/bin/env python3
"""Writes what Hugging Face `tokenizers` (the reference) says about the test corpus.

For each vocabulary (the Qwen3 fixture and the trained Qwen3.5-style one) it writes, under
tests/unit/tokenizer/testdata/:

  <name>.encode.jsonl  one line per corpus line: the JSON array of ids that
                       Tokenizer.encode(line, add_special_tokens=False) gives; when decoding those
                       ids (skip_special_tokens=False) does not give the line back (NFC changed it),
                       the line is {"ids": [...], "decoded": "..."} instead.
  <name>.decode.jsonl  random id sequences (real tokens, lone bytes that break UTF-8, added
                       tokens) with decode(ids, skip_special_tokens=False) and (..., True).

Run with the reference venv (scripts/setup_reference.sh):
  /root/.cache/tpserve/ref-venv/bin/python tools/tokenizer/make_expected.py [--check]
--check regenerates in memory and fails if a committed file differs.
"""
import argparse
import json
import pathlib
import random
import sys

import tokenizers
from tokenizers import Tokenizer

REPO = pathlib.Path(__file__).resolve().parents[2]
TESTDATA = REPO / "tests/unit/tokenizer/testdata"
VOCABS = {
    "qwen3": REPO.parent / "shared/fixtures/qwen3-tokenizer/tokenizer.json",
    "qwen35_style": TESTDATA / "qwen35_style/tokenizer.json",
}
NUM_DECODE_CASES = 400

# A small synthetic vocabulary whose added tokens use every option (lstrip, rstrip, single_word,
# normalized, special) and overlap each other, with lines that exercise them.
OPTIONS_LINES = [
    "hello <mask> world", "x\t<mask>\t<mask>\u2000y", "<mask><mask>", "  <mask>", "<mask>  ",
    "a<sw>b <sw> <sw>, <sw>\u00e9<sw> <sw>_x <sw>\u0301", "<sw>", "un cafe\u0301 ici caf\u00e9!",
    "CAFE\u0301 cafe\u0301e", "abc ab abcd aab", "[SEP]   next [SEP]\n\tz", " <|x|><|x|> ",
    "<|x|", "<mask", "ab\u3000<mask>\u3000ab", "", "plain text only", "\u00e9<|x|>\u00e9",
]


def write_options_vocab(check):
    """Builds the synthetic vocabulary; writes it (or, with `check`, compares it) to testdata."""
    from tokenizers import AddedToken, Regex, decoders, models, normalizers, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    merges = []
    for a, b in [("a", "b"), ("ab", "c"), ("h", "e"), ("he", "l"), ("l", "o"), ("Ġ", "w")]:
        merges.append((a, b))
        vocab.setdefault(a + b, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s+|\w+|[^\s\w]+"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_tokens([
        AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False),
        AddedToken("<sw>", single_word=True, normalized=False),
        AddedToken("caf\u00e9", normalized=True),
        AddedToken("ab", normalized=False),
        AddedToken("abcd", normalized=False),
    ])
    tok.add_special_tokens([AddedToken("[SEP]", rstrip=True), AddedToken("<|x|>")])
    path = TESTDATA / "added_options/tokenizer.json"
    text = tok.to_str(pretty=True)
    if check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"added_options/tokenizer.json: {'same' if same else 'DIFFERS'}")
        return tok, same
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return tok, True


def dumps(x):
    return json.dumps(x, ensure_ascii=False, separators=(",", ":"))


def encode_file(tok, corpus):
    out = []
    for line in corpus:
        ids = tok.encode(line, add_special_tokens=False).ids
        decoded = tok.decode(ids, skip_special_tokens=False)
        out.append(dumps(ids) if decoded == line else dumps({"ids": ids, "decoded": decoded}))
    return out


def decode_file(tok, corpus_ids, rng):
    vocab = tok.get_vocab(with_added_tokens=False)
    base_ids = sorted(vocab.values())
    added = sorted(tok.get_added_tokens_decoder().keys())
    byte_level = [tok.token_to_id(c) for c in _byte_level_chars(range(0x80, 0x100))]
    seen = sorted({i for ids in corpus_ids for i in ids})
    out = []
    for _ in range(NUM_DECODE_CASES):
        ids = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            pool = seen if r < 0.4 else base_ids if r < 0.7 else byte_level if r < 0.85 else added
            ids.append(rng.choice(pool))
        out.append(dumps({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
                          "text_skip_special": tok.decode(ids, skip_special_tokens=True)}))
    return out


def _byte_level_chars(byte_values):
    # GPT-2's byte -> unicode map, for picking the single-byte tokens.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, map(chr, cs)))
    return [table[b] for b in byte_values]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    with open(TESTDATA / "corpus.jsonl", encoding="utf-8") as f:
        corpus = [json.loads(l) for l in f]
    ok = True
    for name, path in VOCABS.items():
        tok = Tokenizer.from_file(str(path))
        enc = encode_file(tok, corpus)
        corpus_ids = [json.loads(l)["ids"] if l.startswith("{") else json.loads(l) for l in enc]
        dec = decode_file(tok, corpus_ids, random.Random(1234))
        for suffix, lines in ((".encode.jsonl", enc), (".decode.jsonl", dec)):
            target = TESTDATA / (name + suffix)
            text = "\n".join(lines) + "\n"
            if args.check:
                same = target.exists() and target.read_text(encoding="utf-8") == text
                print(f"{target.name}: {'same' if same else 'DIFFERS'}")
                ok &= same
            else:
                target.write_text(text, encoding="utf-8")
                print(f"wrote {target.name}: {len(lines)} lines, {len(text.encode())} bytes "
                      f"({sum(len(i) for i in corpus_ids) if suffix == '.encode.jsonl' else NUM_DECODE_CASES}"
                      f" {'tokens' if suffix == '.encode.jsonl' else 'cases'}; tokenizers {tokenizers.__version__})")
    tok, same_vocab = write_options_vocab(args.check)
    ok &= same_vocab
    lines = [dumps({"text": line, "ids": tok.encode(line, add_special_tokens=False).ids,
                    "decoded": tok.decode(tok.encode(line, add_special_tokens=False).ids,
                                          skip_special_tokens=False)}) for line in OPTIONS_LINES]
    target = TESTDATA / "added_options.encode.jsonl"
    text = "\n".join(lines) + "\n"
    if args.check:
        same = target.exists() and target.read_text(encoding="utf-8") == text
        print(f"{target.name}: {'same' if same else 'DIFFERS'}")
        ok &= same
    else:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.name}: {len(lines)} lines")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
