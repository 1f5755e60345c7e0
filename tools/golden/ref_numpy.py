#!/usr/bin/env python3
"""Independent float64 NumPy re-implementation of the Qwen3.5 text forward, used to cross-check the
golden fixtures written by make_golden.py (and as a readable executable spec for the C++ engine).

It reads only config.json + *.safetensors of a fixture directory (no transformers, no torch) and
uses the token-by-token (recurrent) gated delta rule, not HF's chunked form, so agreement with the
HF logits also checks that the two formulations match.

Usage:
    python tools/golden/ref_numpy.py tests/golden            # all models under the directory
    python tools/golden/ref_numpy.py tests/golden/tiny_r1_tied
Exit status 1 if any relative difference exceeds --tol (default 1e-4, relative to max|logit|).
"""

import argparse
import glob
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file


def load_weights(model_dir):
    w = {}
    for fn in sorted(glob.glob(os.path.join(model_dir, "*.safetensors"))):
        try:
            w.update(load_file(fn))
        except TypeError:  # bfloat16 is not a numpy dtype: decode by hand
            w.update(load_bf16_aware(fn))
    return w


def load_bf16_aware(fn):
    """Minimal safetensors reader that widens BF16 to float32 (numpy has no bfloat16)."""
    with open(fn, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, meta in header.items():
        if k == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        raw = data[a:b]
        shape = meta["shape"]
        if meta["dtype"] == "BF16":
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            out[k] = u16.view(np.float32).reshape(shape)
        elif meta["dtype"] == "F32":
            out[k] = np.frombuffer(raw, dtype="<f4").reshape(shape)
        else:
            raise ValueError(f"unsupported dtype {meta['dtype']} for {k}")
    return out


def silu(x):
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0.0, x)


def rms_zc(x, w, eps):
    """Zero-centred RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + w)."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (1.0 + w)


class Model:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        self.cond = "text_config" in cfg
        tc = cfg["text_config"] if self.cond else cfg
        self.tc = tc
        L = tc["num_hidden_layers"]
        if "layer_types" in tc:
            self.layer_types = tc["layer_types"]
        else:
            k = tc.get("full_attention_interval", 4)
            self.layer_types = ["full_attention" if (i + 1) % k == 0 else "linear_attention" for i in range(L)]
        raw = load_weights(model_dir)
        self.w = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items() if not k.startswith("mtp.")}
        self.pre = "model.language_model." if self.cond else "model."
        self.E = self.w[self.pre + "embed_tokens.weight"]
        self.lm_head = self.w.get("lm_head.weight", self.E if tc.get("tie_word_embeddings") else None)
        assert self.lm_head is not None
        self.eps = tc.get("rms_norm_eps", 1e-6)
        rp = tc["rope_parameters"]
        D = tc["head_dim"]
        self.rot = int(D * rp.get("partial_rotary_factor", tc.get("partial_rotary_factor", 0.25)))
        self.inv_freq = 1.0 / (rp["rope_theta"] ** (np.arange(0, self.rot, 2, dtype=np.float64) / self.rot))

    def W(self, name):
        return self.w[self.pre + name]

    def gdn(self, i, u):
        tc, p = self.tc, f"layers.{i}.linear_attn."
        T = u.shape[0]
        Hk, Hv = tc["linear_num_key_heads"], tc["linear_num_value_heads"]
        dk, dv = tc["linear_key_head_dim"], tc["linear_value_head_dim"]
        m = u @ self.W(p + "in_proj_qkv.weight").T  # [T, 2*Hk*dk + Hv*dv]
        z = (u @ self.W(p + "in_proj_z.weight").T).reshape(T, Hv, dv)
        b = u @ self.W(p + "in_proj_b.weight").T
        a = u @ self.W(p + "in_proj_a.weight").T
        cw = self.W(p + "conv1d.weight")[:, 0, :]  # [C, K]; tap K-1 multiplies the current token
        K = cw.shape[1]
        mp = np.concatenate([np.zeros((K - 1, m.shape[1])), m], 0)
        conv = sum(cw[:, j][None, :] * mp[j:j + T] for j in range(K))
        conv = silu(conv)
        q = conv[:, :Hk * dk].reshape(T, Hk, dk)
        k = conv[:, Hk * dk:2 * Hk * dk].reshape(T, Hk, dk)
        v = conv[:, 2 * Hk * dk:].reshape(T, Hv, dv)
        beta = sigmoid(b)
        g = -np.exp(self.W(p + "A_log")) * softplus(a + self.W(p + "dt_bias"))
        q = q / np.sqrt(np.sum(q * q, -1, keepdims=True) + 1e-6)
        k = k / np.sqrt(np.sum(k * k, -1, keepdims=True) + 1e-6)
        q = q / np.sqrt(dk)
        r = Hv // Hk
        S = np.zeros((Hv, dk, dv))
        o = np.zeros((T, Hv, dv))
        for t in range(T):
            for j in range(Hv):
                kt, qt = k[t, j // r], q[t, j // r]  # value head j uses key head floor(j / r)
                S[j] *= np.exp(g[t, j])
                e = v[t, j] - S[j].T @ kt
                S[j] += np.outer(kt, beta[t, j] * e)
                o[t, j] = S[j].T @ qt
        o = o / np.sqrt(np.mean(o * o, -1, keepdims=True) + self.eps) * self.W(p + "norm.weight") * silu(z)
        return o.reshape(T, Hv * dv) @ self.W(p + "out_proj.weight").T

    def rope(self, x, pos):
        ang = pos[:, None] * self.inv_freq[None, :]  # text-only: t = h = w position
        cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
        sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
        xr, xp = x[..., :self.rot], x[..., self.rot:]
        h = self.rot // 2
        rot_half = np.concatenate([-xr[..., h:], xr[..., :h]], -1)
        return np.concatenate([xr * cos + rot_half * sin, xp], -1)

    def attn(self, i, u):
        tc, p = self.tc, f"layers.{i}.self_attn."
        T = u.shape[0]
        Hq, Hkv, D = tc["num_attention_heads"], tc["num_key_value_heads"], tc["head_dim"]
        q2 = (u @ self.W(p + "q_proj.weight").T).reshape(T, Hq, 2 * D)
        q, gate = q2[..., :D], q2[..., D:].reshape(T, Hq * D)
        k = (u @ self.W(p + "k_proj.weight").T).reshape(T, Hkv, D)
        v = (u @ self.W(p + "v_proj.weight").T).reshape(T, Hkv, D)
        q = rms_zc(q, self.W(p + "q_norm.weight"), self.eps)
        k = rms_zc(k, self.W(p + "k_norm.weight"), self.eps)
        pos = np.arange(T, dtype=np.float64)
        q, k = self.rope(q, pos), self.rope(k, pos)
        grp = Hq // Hkv
        out = np.zeros((T, Hq, D))
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for h in range(Hq):
            s = q[:, h] @ k[:, h // grp].T / np.sqrt(D) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            out[:, h] = s @ v[:, h // grp]
        return (out.reshape(T, Hq * D) * sigmoid(gate)) @ self.W(p + "o_proj.weight").T

    def forward(self, ids):
        x = self.E[np.asarray(ids)]
        for i, lt in enumerate(self.layer_types):
            u = rms_zc(x, self.W(f"layers.{i}.input_layernorm.weight"), self.eps)
            x = x + (self.gdn(i, u) if lt == "linear_attention" else self.attn(i, u))
            h = rms_zc(x, self.W(f"layers.{i}.post_attention_layernorm.weight"), self.eps)
            p = f"layers.{i}.mlp."
            x = x + (silu(h @ self.W(p + "gate_proj.weight").T) * (h @ self.W(p + "up_proj.weight").T)) @ self.W(
                p + "down_proj.weight").T
        x = rms_zc(x, self.W("norm.weight"), self.eps)
        return x @ self.lm_head.T


def check_dir(model_dir, tol):
    with open(os.path.join(model_dir, "manifest.json")) as f:
        man = json.load(f)
    m = Model(model_dir)
    worst = 0.0
    ok = True
    for c in man["cases"]:
        ids = c["prompt_ids"]
        toks = c["greedy_tokens"]
        logits = m.forward(ids + toks[:-1])
        pl = np.load(os.path.join(model_dir, c["prompt_logits"])).astype(np.float64)
        dl = np.load(os.path.join(model_dir, c["decode_logits"])).astype(np.float64)
        d1 = np.abs(logits[:len(ids)] - pl).max() / np.abs(pl).max()
        d2 = np.abs(logits[len(ids) - 1:] - dl).max() / np.abs(dl).max()
        am = bool((logits[len(ids) - 1:].argmax(-1) == np.asarray(toks)).all())
        worst = max(worst, d1, d2)
        flag = "ok" if (d1 < tol and d2 < tol and am) else "FAIL"
        ok &= flag == "ok"
        print(f"  {man['model']:16s} {c['name']:16s} prompt rel {d1:.2e}  decode rel {d2:.2e}  greedy match {am}  {flag}")
    return ok, worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    if os.path.exists(os.path.join(args.path, "manifest.json")):
        dirs = [args.path]
    else:
        dirs = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(args.path, "*", "manifest.json")))
    all_ok = True
    for d in dirs:
        ok, worst = check_dir(d, args.tol)
        all_ok &= ok
        print(f"{d}: worst rel diff {worst:.2e} {'OK' if ok else 'FAIL'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
