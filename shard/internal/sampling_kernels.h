// Internal: the passes of shard::Sampler over one row of logits, and their dispatch.
//
// A non-greedy Sample makes a few linear passes over the candidates (the Qwen3.5 vocabulary is
// 248,320 ids), each one of these kernels: the row's extremes, exp(s - max) per candidate, a
// bucket per candidate for the histogram selections, and compactions of the candidates above a
// threshold or inside a range of buckets. Every kernel works on the temperature-scaled logit
// s = x[j] * scale rounded to float, the value the sampler orders tokens by, so all passes agree
// on it. Each kernel exists portable (sampling_kernels.cc) and for AVX2 + FMA
// (sampling_kernels_avx2.cc, picked at run time like the CPU backend's kernels).
//
// The AVX2 file follows the ODR rules of ops/cpu/kernels/isa_kernels.h: it includes only this
// header and <immintrin.h>, keeps its helpers in an anonymous namespace and instantiates no std::
// templates. Kernels are pure and single-threaded.
#ifndef TPSERVE_SHARD_INTERNAL_SAMPLING_KERNELS_H_
#define TPSERVE_SHARD_INTERNAL_SAMPLING_KERNELS_H_

#include <cstdint>

namespace tpserve::shard::internal {

// The last bucket: candidates at or past the histogram's range, -inf and NaN.
inline constexpr uint16_t kMaxBucketKey = 4095;
// exp() of anything below is taken as 0 (e^-708 is the smallest normal double's order).
inline constexpr double kMinExpArg = -708.0;

struct SamplingKernels {
  const char* name;
  // The largest of x[0, n) and the smallest that is not -inf (+inf when none); NaNs are skipped.
  void (*min_max)(const float* x, int64_t n, float* min_finite, float* max);
  // e[j] = exp(double(x[j] * scale) - m), 0 where that argument is below kMinExpArg or NaN;
  // returns the sum of e[0, n). m must be finite.
  double (*exp_sum)(const float* x, int64_t n, float scale, double m, double* e);
  // keys[j] = trunc(min((m - x[j] * scale) * inv_width, kMaxBucketKey)) in float arithmetic
  // (NaN gives kMaxBucketKey). Requires x[j] * scale <= m.
  void (*bucket_keys)(const float* x, int64_t n, float scale, float m, float inv_width,
                      uint16_t* keys);
  // Writes base + j, ascending, for every j with x[j] * scale > threshold (>= when inclusive);
  // returns how many (out has room for n).
  int64_t (*collect_above)(const float* x, int64_t n, float scale, float threshold, bool inclusive,
                           int32_t base, int32_t* out);
  // Writes base + j, ascending, for every j with lo <= keys[j] <= hi; returns how many.
  int64_t (*collect_keys)(const uint16_t* keys, int64_t n, uint16_t lo, uint16_t hi, int32_t base,
                          int32_t* out);
};

// Portable C++ (std::exp: the values the sort-based sampler computed).
extern const SamplingKernels kPortableSamplingKernels;
#if defined(__x86_64__)
// AVX2 + FMA; exp by a degree-11 polynomial (relative error below 1e-14).
extern const SamplingKernels kAvx2SamplingKernels;
#endif

// The best table this CPU supports (TPSERVE_CPU_ISA=scalar forces the portable one).
const SamplingKernels& ActiveSamplingKernels();

}  // namespace tpserve::shard::internal

#endif  // TPSERVE_SHARD_INTERNAL_SAMPLING_KERNELS_H_
