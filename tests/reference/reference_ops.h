// Float64, single-threaded, obviously correct implementations of the backend ops, straight from the
// formulas of spec §3-§4 and op_args.h. Slow on purpose; tests compare every backend against them.
//
// Tensors are row-major std::vector<double> with their shapes passed alongside (dim 0 outermost);
// integer metadata are std::vector<int32_t>.
#ifndef TPSERVE_TESTS_REFERENCE_REFERENCE_OPS_H_
#define TPSERVE_TESTS_REFERENCE_REFERENCE_OPS_H_

#include <array>
#include <cstdint>
#include <vector>

namespace tpserve::reference {

using Vec = std::vector<double>;
using IVec = std::vector<int32_t>;

// out[m, n] = x[m, k] · w[n, k]ᵀ (+ bias[n], empty = none).
Vec MatMul(const Vec& x, int64_t m, int64_t k, const Vec& w, int64_t n, const Vec& bias);

// out[t] = table[ids[t] - vocab_begin], zeros outside [0, vocab).
Vec Embedding(const Vec& table, int64_t vocab, int64_t hidden, const IVec& ids,
              int64_t vocab_begin);

// y = x / sqrt(mean(x²) + eps) · (unit_offset ? 1 + w : w), per row of `dim`.
Vec RmsNorm(const Vec& x, int64_t dim, const Vec& w, double eps, bool unit_offset);
// y = x / sqrt(Σx² + eps) · scale.
Vec L2Norm(const Vec& x, int64_t dim, double eps, double scale);
// y = w ⊙ x / sqrt(mean(x²) + eps) ⊙ silu(z).
Vec GatedRmsNorm(const Vec& x, const Vec& z, int64_t dim, const Vec& w, double eps);

struct RopeParams {
  int64_t rotary_dim = 0;
  double theta = 10000.0;
  std::array<int32_t, 3> sections = {0, 0, 0};
  bool interleaved = true;
  // false: θ_i and the angle in float64 (spec §4 literally). true: inv_freq and the angle rounded
  // through float32 in HF's order (1 / theta^(f32(2i)/f32(rotary_dim)), f32(position) · inv_freq),
  // then cos/sin of that float32 angle in float64: what an exact-order f32 implementation computes.
  bool torch_f32_angles = false;
};
// x [n, heads, head_dim] rotated in place; positions [n, 3] (t, h, w).
void Rope(Vec& x, int64_t n, int64_t heads, int64_t head_dim, const IVec& positions,
          const RopeParams& p);

// Attention of each sequence's query tokens over its cached keys. Caches are given per sequence,
// already gathered: keys[s] [context_lens[s], kv_heads, d]. q / result [n, heads, d].
Vec Attention(const Vec& q, int64_t n, int64_t heads, int64_t d, const std::vector<Vec>& keys,
              const std::vector<Vec>& values, int64_t kv_heads, const IVec& seq_starts,
              const IVec& context_lens, double scale, bool causal);

// Depthwise causal conv with state (op_args.h CausalConv1dArgs). weight [channels, kernel];
// state [max_slots, kernel - 1, channels] updated in place.
Vec CausalConv1d(const Vec& x, int64_t channels, const Vec& weight, int64_t kernel, Vec& state,
                 const IVec& slots, const IVec& seq_starts, bool silu);

// beta = sigmoid(b), g = -exp(a_log) · softplus(a + dt_bias), per [n, heads].
void DeltaNetGates(const Vec& a, const Vec& b, int64_t heads, const Vec& a_log, const Vec& dt_bias,
                   Vec& g, Vec& beta);

// The gated delta rule token by token (spec §3.5 step 7). q, k [n, k_heads, dk]; v [n, v_heads,
// dv]; g, beta [n, v_heads]; state [max_slots, v_heads, dk, dv] updated. Returns out [n, v_heads,
// dv].
Vec GatedDeltaNet(const Vec& q, const Vec& k, const Vec& v, const Vec& g, const Vec& beta,
                  int64_t k_heads, int64_t v_heads, int64_t dk, int64_t dv, Vec& state,
                  const IVec& slots, const IVec& seq_starts);

Vec SiluMul(const Vec& gate, const Vec& up);
Vec SigmoidMul(const Vec& x, const Vec& gate);
Vec Add(const Vec& a, const Vec& b);
// Row softmax of x·scale over rows of `d`.
Vec Softmax(const Vec& x, int64_t d, double scale);

// Vision tower ops.
// y = (x − mean) / sqrt(var + eps) · w + b per row of `dim` (biased variance).
Vec LayerNorm(const Vec& x, int64_t dim, const Vec& w, const Vec& b, double eps);
// 0.5·x·(1 + erf(x/√2)), or the tanh form 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
Vec Gelu(const Vec& x, bool tanh_approximation);
// Axial 2-D rotary over the whole head dim (op_args.h Rope2dArgs), x [n, heads, head_dim] in
// place, positions [n, 2] (row, col). torch_f32_angles as in RopeParams.
void Rope2d(Vec& x, int64_t n, int64_t heads, int64_t head_dim, const IVec& positions, double theta,
            bool torch_f32_angles);
// Bidirectional attention inside the segments [seq_starts[s], seq_starts[s+1]); q, k, v, result
// [n, heads, d].
Vec SegmentAttention(const Vec& q, const Vec& k, const Vec& v, int64_t n, int64_t heads, int64_t d,
                     const IVec& seq_starts, double scale);

}  // namespace tpserve::reference

#endif  // TPSERVE_TESTS_REFERENCE_REFERENCE_OPS_H_
