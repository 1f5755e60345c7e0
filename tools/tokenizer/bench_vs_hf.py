#!/usr/bin/env python3
"""Tokenizer speed, side by side: tpserve's C++ tokenizer and Hugging Face `tokenizers`, one
thread each, encoding the test corpus (tests/unit/tokenizer/testdata/corpus.jsonl) in one run.

Both encode every corpus line, one call per line, over and over, and report UTF-8 MB/s (10^6
bytes/s) of input text: with the per-word BPE cache warm (the steady state of a server; both
libraries keep one) and with it off (tokenizers: model._resize_cache(0); tpserve: the benchmark's
*_nocache cases). HF runs with RAYON_NUM_THREADS=1; `encode` of one string is single-threaded
anyway (only encode_batch fans out).

Usage (reference venv from scripts/setup_reference.sh):
  /root/.cache/tpserve/ref-venv/bin/python tools/tokenizer/bench_vs_hf.py \
      [--bench build/tools/tpserve_tokenizer_bench] [--seconds 3]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer  # noqa: E402  (after the thread settings)

REPO = pathlib.Path(__file__).resolve().parents[2]
VOCABS = {
    "qwen3": REPO.parent / "shared/fixtures/qwen3-tokenizer/tokenizer.json",
    "qwen35_style": REPO / "tests/unit/tokenizer/testdata/qwen35_style/tokenizer.json",
}


def hf_mb_per_s(tok, corpus, seconds, cache, batch):
    """Best pass over the corpus: one encode() per line, or one encode_batch() of all lines."""
    if not cache:
        tok.model._resize_cache(0)
    total = sum(len(line.encode("utf-8")) for line in corpus)

    def one_pass():
        if batch:
            tok.encode_batch(corpus, add_special_tokens=False)
        else:
            for line in corpus:
                tok.encode(line, add_special_tokens=False)

    one_pass()  # warm up (fills the cache when there is one)
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        one_pass()
        best = min(best, time.perf_counter() - start)
    return total / best / 1e6


def cpp_mb_per_s(bench, seconds):
    out = subprocess.run(
        [bench, "--benchmark_filter=BM_Encode", "--benchmark_format=json",
         f"--benchmark_min_time={seconds / 4}"],
        check=True, capture_output=True, text=True, env={**os.environ, "TPS_SOURCE_DIR": str(REPO)})
    results = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        name = b["name"].split("/")[1]  # BM_Encode/qwen3_nocache -> qwen3_nocache
        results[name] = b["bytes_per_second"] / 1e6
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=str(REPO / "build/tools/tpserve_tokenizer_bench"))
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    if not os.path.exists(args.bench):
        sys.exit(f"no benchmark binary at {args.bench} (build target tpserve_tokenizer_bench)")
    with open(REPO / "tests/unit/tokenizer/testdata/corpus.jsonl", encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    size = sum(len(line.encode("utf-8")) for line in corpus)
    print(f"corpus: {len(corpus)} lines, {size / 1e6:.3f} MB; one thread each; "
          f"tokenizers {__import__('tokenizers').__version__}")
    cpp = cpp_mb_per_s(args.bench, args.seconds)
    print("MB/s of UTF-8 input; HF encode = one Tokenizer.encode per line (like tpserve), "
          "HF batch = one encode_batch of all lines on a 1-thread pool")
    print(f"{'vocabulary':<14} {'BPE cache':<10} {'tpserve':>9} {'HF encode':>10} {'HF batch':>9} "
          f"{'tpserve/HF encode':>18}")
    for name, path in VOCABS.items():
        for cache in (True, False):
            hf = hf_mb_per_s(Tokenizer.from_file(str(path)), corpus, args.seconds, cache, False)
            hf_batch = hf_mb_per_s(Tokenizer.from_file(str(path)), corpus, args.seconds, cache, True)
            ours = cpp[name if cache else name + "_nocache"]
            print(f"{name:<14} {'warm' if cache else 'off':<10} {ours:>9.1f} {hf:>10.1f} "
                  f"{hf_batch:>9.1f} {ours / hf:>17.2f}x")


if __name__ == "__main__":
    main()
