// Internal: the instruction-set-specific inner loops of the CPU kernels and their dispatch table.
//
// Each ISA (portable C++, AVX2+FMA+F16C, AVX-512) provides one KernelTable. The AVX2 and AVX-512
// tables live in files compiled with that ISA's flags (*_avx2.cc, *_avx512.cc). To keep the One
// Definition Rule safe, those files include only this header (PODs and declarations, no inline
// code) and <immintrin.h>, keep every helper in an anonymous namespace, and instantiate no std::
// templates: an inline function or template emitted with AVX-512 code could otherwise be picked by
// the linker for a caller that runs on a machine without AVX-512.
//
// Everything here is single-threaded; the kernels in ops/cpu/kernels/*.cc validate arguments and
// split work across the thread pool before calling in.
#ifndef TPSERVE_OPS_CPU_KERNELS_ISA_KERNELS_H_
#define TPSERVE_OPS_CPU_KERNELS_ISA_KERNELS_H_

#include <cstdint>

namespace tpserve::ops::cpu::isa {

// Storage type of weights (and of the KV cache for the attention helpers).
enum class ElemType : uint8_t { kF32, kBf16, kF16 };

// out[m, n] (+)= x[m, k] · w[n, k]ᵀ (+ bias[n]). Rows of x and out are strided; w is contiguous.
struct MatMulProblem {
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  const float* x = nullptr;  // [m, k], row stride ldx
  int64_t ldx = 0;
  const void* w = nullptr;  // [n, k] of wtype, contiguous
  ElemType wtype = ElemType::kF32;
  const float* bias = nullptr;  // [n] or null
  float* out = nullptr;         // [m, n], row stride ldo
  int64_t ldo = 0;
  bool accumulate = false;
};

// c[m, n] (+)= A[m, k] · b[k, n] in f32. A(i, p) = a[i * a_rs + p * a_cs] (any strides, so a
// transposed operand is free); b and c are row-major with row strides ldb and ldc.
struct GemmProblem {
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  const float* a = nullptr;
  int64_t a_rs = 0;
  int64_t a_cs = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  bool accumulate = false;
};

// The gated delta rule token by token for one sequence and one value head (spec §3.5 step 7):
//   S ← exp(g_t)·S;  S ← S + k_t (β_t (v_t − Sᵀk_t))ᵀ;  o_t = Sᵀ q_t
struct DeltaRuleProblem {
  int64_t num_tokens = 0;
  int64_t dk = 0;
  int64_t dv = 0;
  const float* q = nullptr;  // token t at q + t * q_stride, dk contiguous floats
  int64_t q_stride = 0;
  const float* k = nullptr;  // token t at k + t * k_stride
  int64_t k_stride = 0;
  const float* v = nullptr;  // token t at v + t * v_stride, dv contiguous floats
  int64_t v_stride = 0;
  const float* g = nullptr;  // token t at g[t * g_stride]
  int64_t g_stride = 0;
  const float* beta = nullptr;  // token t at beta[t * beta_stride]
  int64_t beta_stride = 0;
  float* state = nullptr;  // [dk, dv] contiguous, updated
  float* out = nullptr;    // token t at out + t * out_stride, dv floats
  int64_t out_stride = 0;
};

struct KernelTable {
  const char* name;

  // MatMul output columns [n_begin, n_end) for every row, streaming each weight row once (the
  // decode shape: small m).
  void (*matmul_rows)(const MatMulProblem& p, int64_t n_begin, int64_t n_end);
  // The same with packed, cache-blocked tiles (the prefill shape: large m). n_begin must be a
  // multiple of blocked_panel_cols. `scratch` holds blocked_scratch_floats floats, 64-byte aligned.
  void (*matmul_blocked)(const MatMulProblem& p, int64_t n_begin, int64_t n_end, float* scratch);
  int64_t blocked_panel_cols;
  int64_t blocked_scratch_floats;

  // Small f32 GEMM; `scratch` holds gemm_scratch_floats floats, 64-byte aligned.
  void (*gemm)(const GemmProblem& p, float* scratch);
  int64_t gemm_scratch_floats;

  // Vector helpers.
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float alpha, const float* x, float* y, int64_t n);  // y += alpha·x
  void (*scale)(float alpha, float* y, int64_t n);                 // y *= alpha

  // Attention helpers over `nk` cache rows (row r at k + r * k_stride elements of ktype):
  //   scores[i * nk + r] = scale · q_i · k_r for i < nq (q_i at q + i * q_stride).
  void (*attn_scores)(const float* q, int64_t nq, int64_t q_stride, const void* k, ElemType ktype,
                      int64_t k_stride, int64_t nk, int64_t d, float scale, float* scores);
  //   o_i += Σ_r p[i * nk + r] · v_r for i < nq (o_i at o + i * o_stride).
  void (*attn_accumulate)(const float* p, int64_t nq, const void* v, ElemType vtype,
                          int64_t v_stride, int64_t nk, int64_t d, float* o, int64_t o_stride);

  //   x[i] = exp(x[i] − shift) for i < n; returns Σ x[i] (a softmax numerator and its sum).
  float (*exp_sum)(float* x, int64_t n, float shift);

  // The gated delta rule recurrence (see DeltaRuleProblem).
  void (*delta_rule)(const DeltaRuleProblem& p);
};

extern const KernelTable kScalarKernels;
#if defined(__x86_64__)
extern const KernelTable kAvx2Kernels;    // matmul_avx2.cc
extern const KernelTable kAvx512Kernels;  // matmul_avx512.cc

// The vector, attention and delta-rule entries of the SIMD tables (vec_avx2.cc, vec_avx512.cc).
#define TPS_DECLARE_VEC_KERNELS                                                                    \
  float Dot(const float* a, const float* b, int64_t n);                                            \
  void Axpy(float alpha, const float* x, float* y, int64_t n);                                     \
  void Scale(float alpha, float* y, int64_t n);                                                    \
  void AttnScores(const float* q, int64_t nq, int64_t q_stride, const void* k, ElemType ktype,     \
                  int64_t k_stride, int64_t nk, int64_t d, float scale, float* scores);            \
  void AttnAccumulate(const float* p, int64_t nq, const void* v, ElemType vtype, int64_t v_stride, \
                      int64_t nk, int64_t d, float* o, int64_t o_stride);                          \
  float ExpSum(float* x, int64_t n, float shift);                                                  \
  void DeltaRule(const DeltaRuleProblem& p);
namespace avx2 {
TPS_DECLARE_VEC_KERNELS
}  // namespace avx2
namespace avx512 {
TPS_DECLARE_VEC_KERNELS
}  // namespace avx512
#undef TPS_DECLARE_VEC_KERNELS
#endif

}  // namespace tpserve::ops::cpu::isa

#endif  // TPSERVE_OPS_CPU_KERNELS_ISA_KERNELS_H_
