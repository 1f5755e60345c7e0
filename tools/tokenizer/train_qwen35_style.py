#!/usr/bin/env python3
"""Trains a small Qwen3.5-style byte-level BPE tokenizer with Hugging Face `tokenizers`.

The result (tests/unit/tokenizer/testdata/qwen35_style/tokenizer.json) has the Qwen3.5 pipeline of
spec §6.1: NFC normaliser; Split(Qwen3.5 regex with \\p{M}, Isolated) + ByteLevel(use_regex=false)
pre-tokenizer; ByteLevel decoder; and the 33 Qwen3.5 added tokens with their real ids
248044..248076. Only the BPE part is small (a few thousand merges, trained on the test corpus), so
the file stays small while every added-token id is the one the real vocabulary uses.

How the ids are kept: `tokenizers` gives an added token the id of the same string in model.vocab
if there is one, and otherwise the next free id after the vocabulary (it ignores the id written in
added_tokens). So the added tokens are also written into model.vocab at their real ids (unreachable
by merges, like any vocabulary entry no merge produces), and the script checks that a fresh load
reports exactly the spec ids.

The merges are written in the older "left right" string form (the Qwen3 fixture uses the [left,
right] list form), so the two fixtures together cover both spellings.

Usage: train_qwen35_style.py [--vocab-size N] [--out PATH]
"""
import argparse
import json
import pathlib

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

REPO = pathlib.Path(__file__).resolve().parents[2]

QWEN35_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}"
                r"| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Spec §6.1. `special` flags are [U] in the spec: the <|...|> control tokens are marked special (as
# Qwen3 marks its own), the think/tool/fim/repo markers are not (as in Qwen3). The four TTS marker
# spellings are the spec's examples ([U]).
ADDED_TOKENS = [
    (248044, "<|endoftext|>", True), (248045, "<|im_start|>", True), (248046, "<|im_end|>", True),
    (248047, "<|object_ref_start|>", True), (248048, "<|object_ref_end|>", True),
    (248049, "<|box_start|>", True), (248050, "<|box_end|>", True), (248051, "<|quad_start|>", True),
    (248052, "<|quad_end|>", True), (248053, "<|vision_start|>", True), (248054, "<|vision_end|>", True),
    (248055, "<|vision_pad|>", True), (248056, "<|image_pad|>", True), (248057, "<|video_pad|>", True),
    (248058, "<tool_call>", False), (248059, "</tool_call>", False), (248060, "<|fim_prefix|>", False),
    (248061, "<|fim_middle|>", False), (248062, "<|fim_suffix|>", False), (248063, "<|fim_pad|>", False),
    (248064, "<|repo_name|>", False), (248065, "<|file_sep|>", False), (248066, "<tool_response>", False),
    (248067, "</tool_response>", False), (248068, "<think>", False), (248069, "</think>", False),
    (248070, "<|audio_start|>", True), (248071, "<|audio_end|>", True), (248072, "<tts_pad>", True),
    (248073, "<tts_text_bos>", True), (248074, "<tts_text_eod>", True),
    (248075, "<tts_text_bos_single>", True), (248076, "<|audio_pad|>", True),
]


def training_texts():
    corpus = REPO / "tests/unit/tokenizer/testdata/corpus.jsonl"
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab-size", type=int, default=6000)
    ap.add_argument("--out", default=str(REPO / "tests/unit/tokenizer/testdata/qwen35_style/tokenizer.json"))
    args = ap.parse_args()

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN35_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=args.vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(training_texts(), trainer=trainer)

    j = json.loads(tok.to_str())
    model = j["model"]
    for tid, content, _ in ADDED_TOKENS:
        assert content not in model["vocab"], content
        model["vocab"][content] = tid
    model["merges"] = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    j["added_tokens"] = [
        {"id": tid, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": special}
        for tid, content, special in ADDED_TOKENS
    ]
    text = json.dumps(j, ensure_ascii=False, indent=1)

    check = Tokenizer.from_str(text)
    for tid, content, _ in ADDED_TOKENS:
        assert check.token_to_id(content) == tid, (content, check.token_to_id(content), tid)
        assert check.encode(content).ids == [tid], content
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}: {len(model['vocab'])} vocab entries, {len(model['merges'])} merges, "
          f"{len(ADDED_TOKENS)} added tokens")


if __name__ == "__main__":
    main()
