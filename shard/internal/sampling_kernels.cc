// The portable sampling kernels and the run-time choice of table.
#include "shard/internal/sampling_kernels.h"

#include <cmath>
#include <limits>

#include "ops/base/cpu_features.h"

namespace tpserve::shard::internal {
namespace {

void MinMax(const float* x, int64_t n, float* min_finite, float* max) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float lo = kInf, hi = -kInf;
  for (int64_t j = 0; j < n; ++j) {
    const float v = x[j];
    hi = v > hi ? v : hi;  // false for NaN
    lo = v < lo && v != -kInf ? v : lo;
  }
  *min_finite = lo;
  *max = hi;
}

double ExpSum(const float* x, int64_t n, float scale, double m, double* e) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float s = x[j] * scale;
    const double arg = static_cast<double>(s) - m;
    e[j] = arg >= kMinExpArg ? std::exp(arg) : 0.0;  // false for NaN
    sum += e[j];
  }
  return sum;
}

void BucketKeys(const float* x, int64_t n, float scale, float m, float inv_width, uint16_t* keys) {
  constexpr float kMax = kMaxBucketKey;
  for (int64_t j = 0; j < n; ++j) {
    const float s = x[j] * scale;
    const float d = m - s;
    const float k = d * inv_width;
    keys[j] = static_cast<uint16_t>(k < kMax ? k : kMax);  // NaN compares false
  }
}

int64_t CollectAbove(const float* x, int64_t n, float scale, float threshold, bool inclusive,
                     int32_t base, int32_t* out) {
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float s = x[j] * scale;
    if (inclusive ? s >= threshold : s > threshold) out[count++] = base + static_cast<int32_t>(j);
  }
  return count;
}

int64_t CollectKeys(const uint16_t* keys, int64_t n, uint16_t lo, uint16_t hi, int32_t base,
                    int32_t* out) {
  int64_t count = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (keys[j] >= lo && keys[j] <= hi) out[count++] = base + static_cast<int32_t>(j);
  }
  return count;
}

}  // namespace

const SamplingKernels kPortableSamplingKernels = {
    .name = "portable",
    .min_max = MinMax,
    .exp_sum = ExpSum,
    .bucket_keys = BucketKeys,
    .collect_above = CollectAbove,
    .collect_keys = CollectKeys,
};

const SamplingKernels& ActiveSamplingKernels() {
#if defined(__x86_64__)
  // best_isa is AVX2 or better only when AVX2, FMA and F16C are all there.
  if (GetCpuFeatures().best_isa != CpuIsa::kScalar) return kAvx2SamplingKernels;
#endif
  return kPortableSamplingKernels;
}

}  // namespace tpserve::shard::internal
