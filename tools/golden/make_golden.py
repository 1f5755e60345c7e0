#!/usr/bin/env python3
"""Build tiny random-weight Qwen3.5 models with HF transformers and record golden outputs.

Usage:
    python tools/golden/make_golden.py --out tests/golden     # (re)write every fixture
    python tools/golden/make_golden.py --check tests/golden   # regenerate into a temp dir, compare bytes

The reference virtualenv is /root/.cache/tpserve/ref-venv (torch 2.15.0, transformers 5.23.0).
See tools/golden/README.md for what is written and why.
"""

import os

# Reproducibility knobs. These must be set before torch is imported. They pin the CPU code paths
# (MKL conditional numerical reproducibility, ATen's scalar/"default" kernels, oneDNN's ISA) so that
# regeneration is bit-for-bit identical on the same torch build, and much more likely to be identical
# across x86 CPUs with different vector extensions. The models are tiny, so speed does not matter.
_REPRO_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MKL_CBWR": "COMPATIBLE",
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "DNNL_MAX_CPU_ISA": "SSE41",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}
os.environ.update(_REPRO_ENV)

import argparse  # noqa: E402
import copy  # noqa: E402
import filecmp  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

import safetensors  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    GenerationConfig,
    Qwen3_5Config,
    Qwen3_5ForCausalLM,
    Qwen3_5ForConditionalGeneration,
    Qwen3_5TextConfig,
)

transformers.logging.set_verbosity_error()
try:  # silence "Writing model shards" progress bars
    transformers.utils.logging.disable_progress_bar()
except Exception:  # pragma: no cover
    pass

VOCAB = 256
PROMPT_LENGTHS = [1, 7, 37, 150]  # 150 > 2*64: the chunked delta rule crosses two chunk boundaries
BATCH_LENGTHS = [5, 23, 70]  # one "batch-style" set (different lengths, 70 crosses a chunk boundary)
PROMPT_SEED = 20250601  # prompts are shared by all models
NEW_TOKENS = 32
BF16_COMPARE_LEN = 37  # the bf16-compute comparison is recorded for this prompt length only
MARGIN_REL = 1e-3  # top1-top2 margin must exceed MARGIN_REL * max|logit| at every greedy step
MAX_SEED_TRIES = 50
ATTN_IMPL = "eager"  # reference attention: explicit matmul + fp32 softmax

INIT_DESCRIPTION = {
    "embed_tokens": "N(0, 1)",
    "text linear weights": "N(0, (1/sqrt(fan_in))^2); o_proj/out_proj/down_proj times resid_out_gain",
    "lm_head (untied)": "N(0, (2/sqrt(hidden))^2)",
    "zero-centred RMSNorm weights (input/post_attention/final norm, q_norm, k_norm)": "N(0, 0.1^2)",
    "linear_attn.norm.weight (gated RMSNorm, used as-is)": "1 + N(0, 0.1^2)",
    "linear_attn.A_log": "log(U(1, 16))",
    "linear_attn.dt_bias": "N(0, 0.5^2)",
    "linear_attn.conv1d.weight": "N(0, (1/sqrt(kernel))^2)",
    "vision": "linear/conv N(0, 1/fan_in), biases N(0, 0.1^2), LayerNorm weight 1+N(0, 0.1^2), pos_embed N(0, 0.5^2)",
    "generator": "torch.Generator().manual_seed(seed), parameters in named_parameters() order, "
    "drawn in float32 then cast (round-to-nearest-even) to the storage dtype",
}


def rope(mrope_section, partial, theta=10000000.0):
    return {
        "rope_type": "default",
        "rope_theta": theta,
        "partial_rotary_factor": partial,
        "mrope_section": list(mrope_section),
        "mrope_interleaved": True,
    }


TINY_VISION = dict(
    depth=1,
    hidden_size=32,
    num_heads=2,
    intermediate_size=64,
    patch_size=16,
    temporal_patch_size=2,
    spatial_merge_size=2,
    num_position_embeddings=16,  # 4x4 learned table
)

LIN, FULL = "linear_attention", "full_attention"

MODELS = [
    dict(
        name="tiny_r1_tied",
        arch="Qwen3_5ForConditionalGeneration",
        dtype="float32",
        base_seed=1000,
        tie=True,
        # With a tied head and N(0,1) embeddings the residual stream is dominated by the current token's
        # embedding and greedy decoding just echoes it; a larger gain on the residual-branch output
        # projections (o_proj / out_proj / down_proj) gives varied greedy continuations.
        resid_out_gain=3.0,
        text=dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=4,
            layer_types=[LIN, LIN, LIN, FULL],
            linear_num_key_heads=4,
            linear_num_value_heads=4,
            linear_key_head_dim=16,
            linear_value_head_dim=16,
            linear_conv_kernel_dim=4,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=32,
            rope_parameters=rope([2, 1, 1], 0.25),
        ),
    ),
    dict(
        name="tiny_r2_untied",
        arch="Qwen3_5ForCausalLM",
        dtype="float32",
        base_seed=2000,
        tie=False,
        shard_size="800KB",
        mtp=True,
        batch=True,
        text=dict(
            hidden_size=64,
            intermediate_size=96,
            num_hidden_layers=5,
            layer_types=[LIN, FULL, LIN, LIN, FULL],
            linear_num_key_heads=4,
            linear_num_value_heads=8,
            linear_key_head_dim=16,
            linear_value_head_dim=24,
            linear_conv_kernel_dim=4,
            num_attention_heads=8,
            num_key_value_heads=1,
            head_dim=64,
            rope_parameters=rope([3, 3, 2], 0.25),
        ),
    ),
    dict(
        name="tiny_r3_bf16",
        arch="Qwen3_5ForConditionalGeneration",
        dtype="bfloat16",
        base_seed=3000,
        tie=False,
        full_attention_interval=2,  # written instead of layer_types
        text=dict(
            hidden_size=96,
            intermediate_size=128,
            num_hidden_layers=4,
            linear_num_key_heads=4,
            linear_num_value_heads=12,
            linear_key_head_dim=16,
            linear_value_head_dim=16,
            linear_conv_kernel_dim=4,
            num_attention_heads=4,
            num_key_value_heads=4,
            head_dim=32,
            rope_parameters=rope([3, 3, 2], 0.5),
        ),
    ),
]


# ----------------------------------------------------------------------------------------------
# deterministic writers
# ----------------------------------------------------------------------------------------------
def dump_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True))
        f.write("\n")


def save_npy(path, arr):
    arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
    np.save(path, arr, allow_pickle=False)


def rewrite_safetensors(path, extra=None):
    """Re-write a safetensors file with fixed metadata (optionally adding tensors)."""
    tensors = {}
    with safe_open(path, framework="pt") as f:
        for k in f.keys():
            tensors[k] = f.get_tensor(k).contiguous()
    if extra:
        for k, v in extra.items():
            assert k not in tensors
            tensors[k] = v.contiguous()
    os.remove(path)
    save_file(dict(sorted(tensors.items())), path, metadata={"format": "pt"})
    return tensors


# ----------------------------------------------------------------------------------------------
# model construction
# ----------------------------------------------------------------------------------------------
def build_config(spec):
    text = dict(spec["text"])
    text.update(
        vocab_size=VOCAB,
        tie_word_embeddings=spec["tie"],
        max_position_embeddings=4096,
        rms_norm_eps=1e-6,
        hidden_act="silu",
        attention_bias=False,
    )
    if "full_attention_interval" in spec:
        text["full_attention_interval"] = spec["full_attention_interval"]
    if spec["arch"] == "Qwen3_5ForCausalLM":
        cfg = Qwen3_5TextConfig(**text)
    else:
        vision = dict(TINY_VISION, out_hidden_size=text["hidden_size"])
        cfg = Qwen3_5Config(text_config=text, vision_config=vision, tie_word_embeddings=spec["tie"])
    cfg.architectures = [spec["arch"]]
    return cfg


ZERO_CENTRED_NORMS = ("input_layernorm.weight", "post_attention_layernorm.weight", "q_norm.weight", "k_norm.weight")


RESID_OUT_PROJ = ("self_attn.o_proj.weight", "linear_attn.out_proj.weight", "mlp.down_proj.weight")


def init_param(name, shape, gen, resid_out_gain=1.0):
    """Return a float32 tensor with the 'sharp' random init for parameter `name`."""

    def randn(std, mean=0.0):
        return torch.randn(shape, generator=gen, dtype=torch.float32) * std + mean

    if name.endswith("embed_tokens.weight"):
        return randn(1.0)
    if name.endswith("linear_attn.A_log"):
        return torch.log(torch.rand(shape, generator=gen, dtype=torch.float32) * 15.0 + 1.0)  # log U(1,16)
    if name.endswith("linear_attn.dt_bias"):
        return randn(0.5)
    if name.endswith("linear_attn.norm.weight"):  # gated RMSNorm, weight used as-is
        return randn(0.1, 1.0)
    if name.endswith(ZERO_CENTRED_NORMS) or name in ("model.norm.weight", "model.language_model.norm.weight"):
        return randn(0.1)  # zero-centred (1 + w) RMSNorm
    if name.endswith("linear_attn.conv1d.weight"):  # [conv_dim, 1, K]
        return randn(1.0 / math.sqrt(shape[-1]))
    if name.startswith("model.visual."):
        if name.endswith(".bias"):
            return randn(0.1)
        if "norm" in name and name.endswith(".weight"):  # LayerNorm
            return randn(0.1, 1.0)
        if name.endswith("pos_embed.weight"):
            return randn(0.5)
        fan_in = int(np.prod(shape[1:]))
        return randn(1.0 / math.sqrt(fan_in))
    if name == "lm_head.weight":
        # untied head: ~N(0, 2/sqrt(H)) so that logits have a spread of several units
        return randn(2.0 / math.sqrt(shape[1]))
    if len(shape) == 2 and name.endswith(".weight"):  # every other nn.Linear (no biases in the text model)
        gain = resid_out_gain if name.endswith(RESID_OUT_PROJ) else 1.0
        return randn(gain / math.sqrt(shape[1]))
    raise ValueError(f"no init rule for parameter {name} {tuple(shape)}")


def build_model(spec, seed):
    cfg = build_config(spec)
    cls = Qwen3_5ForCausalLM if spec["arch"] == "Qwen3_5ForCausalLM" else Qwen3_5ForConditionalGeneration
    torch.manual_seed(seed)  # only affects the (overwritten) default init
    dtype = torch.bfloat16 if spec["dtype"] == "bfloat16" else torch.float32
    model = cls._from_config(cfg, dtype=dtype, attn_implementation=ATTN_IMPL)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # ties are de-duplicated: lm_head stays shared if tied
            v = init_param(name, tuple(p.shape), gen, spec.get("resid_out_gain", 1.0))
            p.copy_(v.to(p.dtype))
    model.eval()
    if spec["tie"]:
        assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    return model


def param_dtypes(model):
    return {n: str(p.dtype).replace("torch.", "") for n, p in model.named_parameters()}


def write_model_dir(spec, model, out_dir):
    """save_pretrained + deterministic post-processing. Returns info for the manifest."""
    info = {}
    kwargs = {}
    if "shard_size" in spec:
        kwargs["max_shard_size"] = spec["shard_size"]
    model.save_pretrained(out_dir, **kwargs)

    st_files = sorted(f for f in os.listdir(out_dir) if f.endswith(".safetensors"))
    index_path = os.path.join(out_dir, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    else:
        index = None

    mtp_extra = None
    if spec.get("mtp"):
        H = spec["text"]["hidden_size"]
        g = torch.Generator().manual_seed(99991)
        mtp_extra = {
            "mtp.fc.weight": torch.randn((H, 2 * H), generator=g) / math.sqrt(2 * H),
            "mtp.norm.weight": torch.randn((H,), generator=g) * 0.1,
            "mtp.pre_fc_norm_embedding.weight": torch.randn((H,), generator=g) * 0.1,
            "mtp.pre_fc_norm_hidden.weight": torch.randn((H,), generator=g) * 0.1,
        }
        assert index is not None, "mtp tensors are only appended to a sharded checkpoint"

    total = 0
    for i, fn in enumerate(st_files):
        extra = mtp_extra if (mtp_extra is not None and i == len(st_files) - 1) else None
        tensors = rewrite_safetensors(os.path.join(out_dir, fn), extra)
        for k, t in tensors.items():
            total += t.numel() * t.element_size()
            if index is not None:
                index["weight_map"][k] = fn
        os.chmod(os.path.join(out_dir, fn), 0o644)
    if index is not None:
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(index["weight_map"].items()))}
        dump_json(index_path, index)
        info["shards"] = st_files
        info["mtp_tensors_appended"] = sorted(mtp_extra) if mtp_extra else []

    # config.json: rewrite with our formatting; for the interval model, drop layer_types
    cfg_path = os.path.join(out_dir, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if "full_attention_interval" in spec:
        tc = cfg["text_config"] if "text_config" in cfg else cfg
        derived = tc.pop("layer_types")
        tc["full_attention_interval"] = spec["full_attention_interval"]
        info["layer_types_derived_by_transformers"] = derived
    if spec.get("mtp"):
        # real checkpoints that carry mtp.* tensors also carry these keys (HF ignores both)
        tc = cfg["text_config"] if "text_config" in cfg else cfg
        tc["mtp_num_hidden_layers"] = 1
        tc["mtp_use_dedicated_embeddings"] = False
    dump_json(cfg_path, cfg)
    gen_path = os.path.join(out_dir, "generation_config.json")
    if os.path.exists(gen_path):
        with open(gen_path) as f:
            gcfg = json.load(f)
        dump_json(gen_path, gcfg)
    for fn in os.listdir(out_dir):
        os.chmod(os.path.join(out_dir, fn), 0o644)
    return info


def load_model(spec, model_dir, dtype):
    cls = Qwen3_5ForCausalLM if spec["arch"] == "Qwen3_5ForCausalLM" else Qwen3_5ForConditionalGeneration
    m = cls.from_pretrained(model_dir, dtype=dtype, attn_implementation=ATTN_IMPL)
    m.eval()
    return m


# ----------------------------------------------------------------------------------------------
# reference computations
# ----------------------------------------------------------------------------------------------
def make_prompt(length, tag):
    rng = random.Random(f"{PROMPT_SEED}:{tag}:{length}")
    return [rng.randrange(VOCAB) for _ in range(length)]


@torch.no_grad()
def full_forward_logits(model, ids):
    x = torch.tensor([ids], dtype=torch.long)
    out = model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False)
    return out.logits[0].float()


def gen_config():
    return GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=NEW_TOKENS,
        min_new_tokens=NEW_TOKENS,
        eos_token_id=None,
        pad_token_id=0,  # only used for (left) padding in the batched check; never generated as a stop
        bos_token_id=None,
        use_cache=True,
        output_logits=True,
        output_scores=False,
        return_dict_in_generate=True,
        temperature=None,
        top_k=None,
        top_p=None,
    )


@torch.no_grad()
def greedy(model, ids):
    x = torch.tensor([ids], dtype=torch.long)
    out = model.generate(input_ids=x, attention_mask=torch.ones_like(x), generation_config=gen_config())
    toks = out.sequences[0, len(ids):].tolist()
    logits = torch.stack([l[0].float() for l in out.logits], 0)  # [NEW_TOKENS, V]
    assert len(toks) == NEW_TOKENS and logits.shape == (NEW_TOKENS, VOCAB)
    assert toks == logits.argmax(-1).tolist()
    return toks, logits


@torch.no_grad()
def greedy_batched_left_padded(model, prompts):
    n = max(len(p) for p in prompts)
    x = torch.zeros((len(prompts), n), dtype=torch.long)
    mask = torch.zeros_like(x)
    for i, p in enumerate(prompts):
        x[i, n - len(p):] = torch.tensor(p)
        mask[i, n - len(p):] = 1
    out = model.generate(input_ids=x, attention_mask=mask, generation_config=gen_config())
    toks = out.sequences[:, n:].tolist()
    logits = torch.stack([l.float() for l in out.logits], 1)  # [B, NEW_TOKENS, V]
    return toks, logits


def margin_ratio(logits):
    """min over rows of (top1 - top2) / max|logit| (per-row max)."""
    top2 = torch.topk(logits, 2, dim=-1).values
    m = (top2[:, 0] - top2[:, 1]) / logits.abs().max(-1).values
    return float(m.min())


def f(x):
    """Round a float for the manifest (keeps the json stable and readable)."""
    return float(f"{float(x):.6g}")


def run_cases(spec, model, case_defs):
    """Compute everything for one model. Returns (cases, arrays, min_margin)."""
    cases, arrays = [], {}
    min_margin = float("inf")
    for cname, ids in case_defs:
        pl = full_forward_logits(model, ids)
        toks, dl = greedy(model, ids)
        mr = margin_ratio(dl)
        min_margin = min(min_margin, mr)
        # cross-check HF's cached decode path (conv update + recurrent rule) against a cache-free forward
        ff = full_forward_logits(model, ids + toks[:-1])[len(ids) - 1:]
        scale = float(dl.abs().max())
        c = {
            "name": cname,
            "prompt_len": len(ids),
            "prompt_ids": ids,
            "greedy_tokens": toks,
            "prompt_logits": f"{cname}.prompt_logits.npy",
            "decode_logits": f"{cname}.decode_logits.npy",
            "vocab": VOCAB,
            "min_top1_top2_margin_rel": f(mr),
            "max_abs_logit_prompt": f(pl.abs().max()),
            "logit_std_prompt": f(pl.std()),
            "decode_vs_full_forward_max_abs_diff_rel": f((ff - dl).abs().max() / scale),
            "prefill_last_vs_decode0_max_abs_diff_rel": f((pl[-1] - dl[0]).abs().max() / scale),
        }
        arrays[c["prompt_logits"]] = pl.numpy()
        arrays[c["decode_logits"]] = dl.numpy()
        cases.append(c)
    return cases, arrays, min_margin


def case_definitions(spec):
    defs = [(f"p{n}", make_prompt(n, "single")) for n in PROMPT_LENGTHS]
    if spec.get("batch"):
        defs += [(f"batch_{i}_len{n}", make_prompt(n, f"batch{i}")) for i, n in enumerate(BATCH_LENGTHS)]
    return defs


def generate_model(spec, out_root, log):
    name = spec["name"]
    case_defs = case_definitions(spec)
    for attempt in range(MAX_SEED_TRIES):
        seed = spec["base_seed"] + attempt
        stage = tempfile.mkdtemp(prefix=f"golden_{name}_")
        try:
            model = build_model(spec, seed)
            created_dtypes = param_dtypes(model)
            info = write_model_dir(spec, model, stage)
            del model
            ref = load_model(spec, stage, torch.float32)  # weights exactly as stored, f32 compute
            cases, arrays, min_margin = run_cases(spec, ref, case_defs)
            if not (min_margin > MARGIN_REL):
                log(f"[{name}] seed {seed}: min greedy margin {min_margin:.3g} <= {MARGIN_REL}, trying next seed")
                continue

            manifest = {
                "model": name,
                "architecture": spec["arch"],
                "dtype": spec["dtype"],
                "compute_dtype_of_reference": "float32",
                "seed": seed,
                "seed_attempts": attempt + 1,
                "prompt_seed": PROMPT_SEED,
                "transformers_version": transformers.__version__,
                "torch_version": torch.__version__,
                "numpy_version": np.__version__,
                "safetensors_version": safetensors.__version__,
                "attn_implementation": ATTN_IMPL,
                "reproducibility_env": _REPRO_ENV,
                "vocab": VOCAB,
                "new_tokens": NEW_TOKENS,
                "tie_word_embeddings": spec["tie"],
                "resid_out_gain": spec.get("resid_out_gain", 1.0),
                "init": INIT_DESCRIPTION,
                "layer_types": list(ref.config.get_text_config().layer_types),
                "param_dtypes_as_created": dict(sorted(collections_counter(created_dtypes).items())),
                "special_param_dtypes": {
                    k: v for k, v in sorted(created_dtypes.items()) if k.endswith(("A_log", "dt_bias"))
                },
                "margin_rule": f"top1-top2 > {MARGIN_REL} * max|logit| at every greedy step",
                "min_top1_top2_margin_rel": f(min_margin),
                "cases": cases,
            }
            manifest.update(info)

            # the written config must reload to the intended layer types
            if "full_attention_interval" in spec:
                rc = AutoConfig.from_pretrained(stage).get_text_config()
                k = spec["full_attention_interval"]
                want = [FULL if (i + 1) % k == 0 else LIN for i in range(spec["text"]["num_hidden_layers"])]
                assert list(rc.layer_types) == want, (rc.layer_types, want)
                assert list(rc.layer_types) == info["layer_types_derived_by_transformers"]
                with open(os.path.join(stage, "config.json")) as fh:
                    assert "layer_types" not in json.load(fh)["text_config"]
                manifest["layer_types_written_to_config"] = False
            else:
                assert list(ref.config.get_text_config().layer_types) == spec["text"]["layer_types"]

            if spec.get("batch"):
                names = [c for c, _ in case_defs if c.startswith("batch_")]
                by = {c["name"]: c for c in cases}
                btoks, blogits = greedy_batched_left_padded(ref, [by[n]["prompt_ids"] for n in names])
                same = all(btoks[i] == by[n]["greedy_tokens"] for i, n in enumerate(names))
                diff = max(
                    float((blogits[i] - torch.from_numpy(arrays[by[n]["decode_logits"]])).abs().max())
                    / float(blogits[i].abs().max())
                    for i, n in enumerate(names)
                )
                manifest["batches"] = [
                    {
                        "name": "batch3",
                        "cases": names,
                        "note": "references are per-sequence runs; the engine must reproduce them when the "
                        "three prompts are served concurrently",
                        "hf_left_padded_batched_generate_tokens_match": same,
                        "hf_left_padded_batched_decode_logits_max_abs_diff_rel": f(diff),
                    }
                ]

            if spec["dtype"] == "bfloat16":
                native = load_model(spec, stage, torch.bfloat16)
                nd = param_dtypes(native)
                manifest["param_dtypes_native_bf16_load"] = dict(sorted(collections_counter(nd).items()))
                c = next(c for c in cases if c["prompt_len"] == BF16_COMPARE_LEN)
                lb = full_forward_logits(native, c["prompt_ids"])
                l32 = torch.from_numpy(arrays[c["prompt_logits"]])
                c["prompt_logits_bf16compute"] = f"{c['name']}.prompt_logits_bf16compute.npy"
                c["bf16compute_vs_f32compute_max_abs_diff"] = f((lb - l32).abs().max())
                c["bf16compute_vs_f32compute_max_abs_diff_rel"] = f((lb - l32).abs().max() / l32.abs().max())
                c["bf16compute_argmax_agreement"] = f((lb.argmax(-1) == l32.argmax(-1)).float().mean())
                arrays[c["prompt_logits_bf16compute"]] = lb.numpy()
                manifest["bf16compute_vs_f32compute_max_abs_diff_rel"] = c[
                    "bf16compute_vs_f32compute_max_abs_diff_rel"
                ]
                del native

            # all good: move into place
            dst = os.path.join(out_root, name)
            if os.path.exists(dst):
                shutil.rmtree(dst)
            os.makedirs(dst)
            for fn in sorted(os.listdir(stage)):
                shutil.copyfile(os.path.join(stage, fn), os.path.join(dst, fn))
            for fn, arr in sorted(arrays.items()):
                save_npy(os.path.join(dst, fn), arr)
            dump_json(os.path.join(dst, "manifest.json"), manifest)
            for fn in os.listdir(dst):
                os.chmod(os.path.join(dst, fn), 0o644)
            log(f"[{name}] seed {seed} ok: min margin rel {min_margin:.4g}, "
                f"logit std {cases[-1]['logit_std_prompt']}, max|logit| {cases[-1]['max_abs_logit_prompt']}")
            return manifest
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    raise RuntimeError(f"{name}: no seed in {MAX_SEED_TRIES} tries satisfied the margin rule")


def collections_counter(d):
    out = {}
    for v in d.values():
        out[v] = out.get(v, 0) + 1
    return out


def generate_all(out_root, log):
    os.makedirs(out_root, exist_ok=True)
    for spec in MODELS:
        generate_model(copy.deepcopy(spec), out_root, log)


def list_files(root):
    res = []
    for d, _, files in os.walk(root):
        for fn in files:
            res.append(os.path.relpath(os.path.join(d, fn), root))
    return sorted(res)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", help="write fixtures into this directory (e.g. tests/golden)")
    g.add_argument("--check", help="regenerate into a temp dir and compare byte-for-byte with this directory")
    args = ap.parse_args()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.out:
        generate_all(args.out, log)
        total = sum(os.path.getsize(os.path.join(args.out, p)) for p in list_files(args.out))
        log(f"wrote {len(list_files(args.out))} files, {total} bytes under {args.out}")
        return 0

    ref_root = args.check
    if not os.path.isdir(ref_root):
        log(f"--check: {ref_root} is not a directory")
        return 1
    tmp = tempfile.mkdtemp(prefix="golden_check_")
    try:
        generate_all(tmp, log)
        # Only this script's model directories (tiny_vision belongs to make_vision_golden.py).
        names = tuple(spec["name"] + os.sep for spec in MODELS)
        want = {p for p in list_files(tmp) if p.startswith(names)}
        have = {p for p in list_files(ref_root) if p.startswith(names)}
        bad = []
        for p in sorted(want | have):
            if p not in have:
                bad.append(f"missing in {ref_root}: {p}")
            elif p not in want:
                bad.append(f"not produced by the generator: {p}")
            elif not filecmp.cmp(os.path.join(tmp, p), os.path.join(ref_root, p), shallow=False):
                bad.append(f"differs: {p}")
        if bad:
            for b in bad:
                print(b)
            print(f"CHECK FAILED: {len(bad)} file(s) differ")
            return 1
        print(f"CHECK OK: {len(want)} files identical")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
