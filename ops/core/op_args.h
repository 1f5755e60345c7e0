// One plain Args struct per Backend op. Shapes in comments: dim 0 is outermost.
//
// Conventions shared by every op:
// - Activations are f32. Weights may be f32, bf16 or f16 where the comment says so (f32
//   accumulation always).
// - A view's innermost dim must be contiguous; outer dims may be strided (see tensor_view.h).
// - `out` may alias an input only where the comment says "may alias".
// - Per-sequence metadata for batched steps: `seq_starts` [num_seqs + 1] int32 gives each
//   sequence's token range [seq_starts[s], seq_starts[s+1]) in the flat token dim; `slots`
//   [num_seqs] int32 gives the state row a sequence owns.
#ifndef TPSERVE_OPS_CORE_OP_ARGS_H_
#define TPSERVE_OPS_CORE_OP_ARGS_H_

#include <array>
#include <cstdint>

#include "ops/core/tensor_view.h"

namespace tpserve::ops {

enum class OpKind : uint8_t {
  kMatMul,
  kEmbedding,
  kRmsNorm,
  kL2Norm,
  kGatedRmsNorm,
  kRope,
  kStoreKv,
  kAttention,
  kCausalConv1d,
  kDeltaNetGates,
  kGatedDeltaNet,
  kSiluMul,
  kSigmoidMul,
  kAdd,
  kSoftmax,
  kLayerNorm,
  kGelu,
  kRope2d,
  kSegmentAttention,
};

// out = x · wᵀ (+ bias) (+ out when accumulate).
struct MatMulArgs {
  ConstTensorView x;     // [m, k] f32
  ConstTensorView w;     // [n, k] f32 | bf16 | f16, contiguous (PyTorch Linear layout [out, in])
  ConstTensorView bias;  // [n] f32, optional (empty = none)
  TensorView out;        // [m, n] f32
  bool accumulate = false;
};

// out[t] = table[ids[t] - vocab_begin] for ids inside this shard's vocabulary rows, zeros
// otherwise (vocab-parallel embedding; the zeros are filled in by an all-reduce across ranks).
struct EmbeddingArgs {
  ConstTensorView table;  // [vocab_local, hidden] f32 | bf16 | f16, contiguous
  ConstTensorView ids;    // [n] i32
  TensorView out;         // [n, hidden] f32
  int64_t vocab_begin = 0;
};

// Root-mean-square norm over the last dim:
//   y = x / sqrt(mean(x²) + eps) * (unit_offset ? 1 + w : w)
// Qwen3.5's "zero-centred" norms store w as a deviation from 1 (unit_offset = true).
struct RmsNormArgs {
  ConstTensorView x;       // [a, b, dim] (rank 2 or 3)
  ConstTensorView weight;  // [dim] f32 | bf16
  TensorView out;          // same shape as x; may alias x
  float eps = 1e-6f;
  bool unit_offset = true;
};

// y = x * rsqrt(sum(x²) + eps) * scale over the last dim (the delta net's q/k normalisation).
struct L2NormArgs {
  ConstTensorView x;  // [a, b, dim] (rank 2 or 3)
  TensorView out;     // same shape; may alias x
  float eps = 1e-6f;
  float scale = 1.0f;
};

// The delta net's output norm, per head: y = w ⊙ (x / sqrt(mean(x²) + eps)) ⊙ silu(z).
struct GatedRmsNormArgs {
  ConstTensorView x;       // [n, heads, dim]
  ConstTensorView z;       // [n, heads, dim]
  ConstTensorView weight;  // [dim] f32 | bf16 (used as is, no unit offset)
  TensorView out;          // [n, heads, dim]; may alias x
  float eps = 1e-6f;
};

// Rotary embedding on the first rotary_dim dims of every head, NeoX pairing (i, i + rotary_dim/2).
// Multimodal (M-RoPE): frequency i (of rotary_dim/2) takes its position from one of three axes
// (t, h, w). With interleaved = true the axis is H if i % 3 == 1 && i < 3 * sections[1],
// W if i % 3 == 2 && i < 3 * sections[2], else T (Qwen3.5). With interleaved = false the
// sections are contiguous ranges [T | H | W] (Qwen2-VL style).
// θ_i = theta^(-2i / rotary_dim); angle = position(axis(i)) · θ_i.
struct RopeArgs {
  TensorView x;               // [n, heads, head_dim], rotated in place
  ConstTensorView positions;  // [n, 3] i32: (t, h, w) per token
  int64_t rotary_dim = 0;     // even, ≤ head_dim
  float theta = 10000.0f;
  std::array<int32_t, 3> sections = {0, 0, 0};  // sum == rotary_dim / 2
  bool interleaved = true;
};

// Writes new keys and values into the paged KV cache. Cache row r holds token slot_mapping[t] ==
// r (row = block * block_size + offset_in_block).
struct StoreKvArgs {
  ConstTensorView k;             // [n, kv_heads, head_dim] f32
  ConstTensorView v;             // [n, kv_heads, head_dim] f32
  ConstTensorView slot_mapping;  // [n] i32
  TensorView k_cache;            // [num_blocks * block_size, kv_heads, head_dim] f32 | bf16
  TensorView v_cache;            // [num_blocks * block_size, kv_heads, head_dim] f32 | bf16
};

// Softmax attention of each sequence's new query tokens over its cached keys (GQA: query head h
// reads kv head h / (heads / kv_heads)). Sequence s has context_lens[s] cached tokens, the last
// (seq_starts[s+1] - seq_starts[s]) of which are its query tokens; with causal = true query token
// i of the chunk sees cache indices [0, context_lens[s] - n_s + i]. Cache index j of sequence s is
// row block_tables[s, j / block_size] * block_size + j % block_size.
struct AttentionArgs {
  ConstTensorView q;             // [n, heads, head_dim] f32
  ConstTensorView k_cache;       // [num_blocks * block_size, kv_heads, head_dim] f32 | bf16
  ConstTensorView v_cache;       // [num_blocks * block_size, kv_heads, head_dim] f32 | bf16
  ConstTensorView block_tables;  // [num_seqs, max_blocks_per_seq] i32
  ConstTensorView seq_starts;    // [num_seqs + 1] i32
  ConstTensorView context_lens;  // [num_seqs] i32
  TensorView out;                // [n, heads, head_dim] f32
  int64_t block_size = 16;
  float scale = 1.0f;
  bool causal = true;
};

// Depthwise causal conv over time per channel, with carried state (the delta net's conv1d):
//   out[t, c] = act( Σ_{j<K} w[c, j] · x_ext[t - (K-1) + j, c] )
// where x_ext prepends the sequence's state rows (the last K-1 raw inputs it saw; zeros for a
// fresh sequence). Afterwards the state holds the last K-1 raw inputs. act = silu when silu.
struct CausalConv1dArgs {
  ConstTensorView x;           // [n, channels] f32
  ConstTensorView weight;      // [channels, kernel] f32 | bf16
  TensorView state;            // [max_slots, kernel - 1, channels] f32, updated
  ConstTensorView slots;       // [num_seqs] i32
  ConstTensorView seq_starts;  // [num_seqs + 1] i32
  TensorView out;              // [n, channels] f32; must not alias x
  bool silu = true;
};

// The delta net's per-token gates:
//   beta = sigmoid(b);  g = -exp(a_log) · softplus(a + dt_bias)   (log-decay, ≤ 0)
struct DeltaNetGatesArgs {
  ConstTensorView a;        // [n, heads] f32
  ConstTensorView b;        // [n, heads] f32
  ConstTensorView a_log;    // [heads] f32
  ConstTensorView dt_bias;  // [heads] f32
  TensorView g;             // [n, heads] f32
  TensorView beta;          // [n, heads] f32
};

// The gated delta rule (spec §3.5), per sequence and value head j with state S [dk, dv]:
//   S ← exp(g_t)·S;  S ← S + k_t (β_t (v_t − Sᵀk_t))ᵀ;  o_t = Sᵀ q_t
// Value head j reads key head j / (v_heads / k_heads). q and k must already be L2-normalised (and
// q scaled). Sequences with at least chunk_size tokens run the chunked form (mathematically equal,
// faster for prefill); chunk_size = 0 forces the token-by-token recurrence.
struct GatedDeltaNetArgs {
  ConstTensorView q;           // [n, k_heads, dk] f32
  ConstTensorView k;           // [n, k_heads, dk] f32
  ConstTensorView v;           // [n, v_heads, dv] f32
  ConstTensorView g;           // [n, v_heads] f32
  ConstTensorView beta;        // [n, v_heads] f32
  TensorView state;            // [max_slots, v_heads, dk, dv] f32, contiguous, updated
  ConstTensorView slots;       // [num_seqs] i32
  ConstTensorView seq_starts;  // [num_seqs + 1] i32
  TensorView out;              // [n, v_heads, dv] f32
  int64_t chunk_size = 64;
};

// out = silu(gate) ⊙ up (SwiGLU).
struct SiluMulArgs {
  ConstTensorView gate;  // [n, d] f32
  ConstTensorView up;    // [n, d] f32
  TensorView out;        // [n, d] f32; may alias gate or up
};

// out = x ⊙ sigmoid(gate) (the attention output gate).
struct SigmoidMulArgs {
  ConstTensorView x;     // [n, d] or [n, heads, head_dim] f32
  ConstTensorView gate;  // same shape as x
  TensorView out;        // same shape; may alias x
};

// out = a + b.
struct AddArgs {
  ConstTensorView a;  // [n, d] f32
  ConstTensorView b;  // [n, d] f32
  TensorView out;     // [n, d] f32; may alias a or b
};

// Row softmax over the last dim, in f32: out = exp(x·scale − max) / Σ.
struct SoftmaxArgs {
  ConstTensorView x;  // [n, d] f32
  TensorView out;     // [n, d] f32; may alias x
  float scale = 1.0f;
};

// LayerNorm over the last dim with an affine weight and bias (PyTorch nn.LayerNorm), in f32:
//   y = (x − mean) / sqrt(var + eps) · w + b,   var = mean((x − mean)²) (biased)
struct LayerNormArgs {
  ConstTensorView x;       // [n, dim] f32
  ConstTensorView weight;  // [dim] f32 | bf16
  ConstTensorView bias;    // [dim] f32 | bf16
  TensorView out;          // [n, dim] f32; may alias x
  float eps = 1e-5f;
};

// GELU. Exact (nn.GELU()):  out = 0.5·x·(1 + erf(x / √2)).
// With tanh_approximation (PyTorch approximate="tanh", HF "gelu_pytorch_tanh"):
//   out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
struct GeluArgs {
  ConstTensorView x;  // [n, d] f32
  TensorView out;     // [n, d] f32; may alias x
  bool tanh_approximation = false;
};

// Axial 2-D rotary embedding over the whole head dim (a ViT's patch grid), rotate-half pairing.
// With half = head_dim / 2 and nf = head_dim / 4 frequencies ω_j = theta^(−2j / half), dim i < half
// has angle row·ω_i for i < nf and col·ω_(i − nf) otherwise, and the pair (x[i], x[i + half])
// rotates by it:  x'[i] = x[i]·cos − x[i + half]·sin,  x'[i + half] = x[i + half]·cos + x[i]·sin.
// cos/sin in f32 as PyTorch computes them (ω_j = 1 / theta^(f32(2j) / f32(half))).
struct Rope2dArgs {
  TensorView x;               // [n, heads, head_dim] f32, rotated in place; head_dim % 4 == 0
  ConstTensorView positions;  // [n, 2] i32: (row, col) of each token
  float theta = 10000.0f;
};

// Bidirectional softmax attention inside contiguous segments (packed images of a ViT): token i of
// segment s attends to every token of s and to none outside it. Segment s is rows
// [seq_starts[s], seq_starts[s+1]); q, k and v have the same head count. Softmax in f32.
struct SegmentAttentionArgs {
  ConstTensorView q;           // [n, heads, head_dim] f32
  ConstTensorView k;           // [n, heads, head_dim] f32
  ConstTensorView v;           // [n, heads, head_dim] f32
  ConstTensorView seq_starts;  // [num_segments + 1] i32: 0, ..., n
  TensorView out;              // [n, heads, head_dim] f32; must not alias q, k or v
  float scale = 1.0f;
};

}  // namespace tpserve::ops

#endif  // TPSERVE_OPS_CORE_OP_ARGS_H_
