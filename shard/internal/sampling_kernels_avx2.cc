// The sampling kernels for AVX2 + FMA (see the ODR note in sampling_kernels.h). Ragged tails go
// through small stack buffers padded with -inf, so every element takes the same vector path and
// a value gets the same exp and bucket wherever it sits in a row.
#include <immintrin.h>

#include "shard/internal/sampling_kernels.h"

namespace tpserve::shard::internal {
namespace {

constexpr float kNegInf = -__builtin_inff();

// ln 2 split so that n * kLn2Hi is exact for |n| < 2^21 (kLn2Hi has 32 significant bits).
constexpr double kLn2Hi = 0.6931471803691238;
constexpr double kLn2Lo = 1.9082149292705877e-10;
constexpr double kLog2e = 1.4426950408889634;
// 1.5 * 2^52: adding it rounds to an integer and leaves that integer in the low mantissa bits.
constexpr double kRoundShifter = 6755399441055744.0;

// exp(x) for x <= 0, four lanes. x = n ln2 + r with |r| <= ln2 / 2; e^r is its Taylor series to
// r^11 (truncation below 1e-14 relative); 2^n is added to the exponent field. Lanes below
// kMinExpArg (where 2^n would leave the normal range) and NaN lanes give 0.
inline __m256d Exp4(__m256d x) {
  const __m256d valid = _mm256_cmp_pd(x, _mm256_set1_pd(kMinExpArg), _CMP_GE_OQ);
  x = _mm256_max_pd(x, _mm256_set1_pd(kMinExpArg));  // NaN lanes take the second operand
  const __m256d shifter = _mm256_set1_pd(kRoundShifter);
  const __m256d t = _mm256_fmadd_pd(x, _mm256_set1_pd(kLog2e), shifter);
  const __m256d n = _mm256_sub_pd(t, shifter);
  __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(kLn2Hi), x);
  r = _mm256_fnmadd_pd(n, _mm256_set1_pd(kLn2Lo), r);
  // 1/k! for k = 11 down to 2; the last two steps add r and 1.
  constexpr double kInvFact[] = {1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
                                 1.0 / 5040,     1.0 / 720,     1.0 / 120,    1.0 / 24,
                                 1.0 / 6,        1.0 / 2};
  __m256d p = _mm256_set1_pd(kInvFact[0]);
  for (int k = 1; k < 10; ++k) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(kInvFact[k]));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
  p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
  // n sits in t's low bits as a two's-complement integer; shifted by 52 it adds n to p's
  // exponent (n >= -1021 here, so the result stays normal).
  const __m256i scaled =
      _mm256_add_epi64(_mm256_castpd_si256(p), _mm256_slli_epi64(_mm256_castpd_si256(t), 52));
  return _mm256_and_pd(_mm256_castsi256_pd(scaled), valid);
}

// Up to 8 floats from x, -inf above count.
inline __m256 LoadPadded(const float* x, int64_t count) {
  alignas(32) float buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = i < count ? x[i] : kNegInf;
  return _mm256_load_ps(buf);
}

inline double HorizontalSum(__m256d v) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, v);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

void MinMax(const float* x, int64_t n, float* min_finite, float* max) {
  const __m256 neg_inf = _mm256_set1_ps(kNegInf), pos_inf = _mm256_set1_ps(-kNegInf);
  __m256 hi = neg_inf, lo = pos_inf;
  for (int64_t j = 0; j < n; j += 8) {
    const __m256 v = n - j >= 8 ? _mm256_loadu_ps(x + j) : LoadPadded(x + j, n - j);
    hi = _mm256_max_ps(v, hi);  // a NaN v keeps hi (the second operand)
    const __m256 finite_or_up = _mm256_blendv_ps(v, pos_inf, _mm256_cmp_ps(v, neg_inf, _CMP_EQ_OQ));
    lo = _mm256_min_ps(finite_or_up, lo);
  }
  alignas(32) float h[8], l[8];
  _mm256_store_ps(h, hi);
  _mm256_store_ps(l, lo);
  float mx = h[0], mn = l[0];
  for (int i = 1; i < 8; ++i) {
    mx = h[i] > mx ? h[i] : mx;
    mn = l[i] < mn ? l[i] : mn;
  }
  *min_finite = mn;
  *max = mx;
}

// Exps of the 8 scaled values v (minus m), stored to e[0, count), summed into acc.
inline void ExpBlock(__m256 v, __m256d m, int64_t count, double* e, __m256d* acc) {
  const __m256d e_lo = Exp4(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m));
  const __m256d e_hi = Exp4(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m));
  if (count >= 8) {
    _mm256_storeu_pd(e, e_lo);
    _mm256_storeu_pd(e + 4, e_hi);
  } else {
    alignas(32) double buf[8];
    _mm256_store_pd(buf, e_lo);
    _mm256_store_pd(buf + 4, e_hi);
    for (int64_t i = 0; i < count; ++i) e[i] = buf[i];
  }
  // Padded lanes are -inf, so their exp is exactly 0.
  acc[0] = _mm256_add_pd(acc[0], e_lo);
  acc[1] = _mm256_add_pd(acc[1], e_hi);
}

double ExpSum(const float* x, int64_t n, float scale, double m, double* e) {
  const __m256 vs = _mm256_set1_ps(scale);
  const __m256d vm = _mm256_set1_pd(m);
  __m256d acc[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
  for (int64_t j = 0; j < n; j += 8) {
    const __m256 v = n - j >= 8 ? _mm256_loadu_ps(x + j) : LoadPadded(x + j, n - j);
    ExpBlock(_mm256_mul_ps(v, vs), vm, n - j, e + j, acc);
  }
  return HorizontalSum(_mm256_add_pd(acc[0], acc[1]));
}

void BucketKeys(const float* x, int64_t n, float scale, float m, float inv_width, uint16_t* keys) {
  const __m256 vs = _mm256_set1_ps(scale), vm = _mm256_set1_ps(m), vw = _mm256_set1_ps(inv_width);
  const __m256 max_key = _mm256_set1_ps(static_cast<float>(kMaxBucketKey));
  for (int64_t j = 0; j < n; j += 8) {
    const __m256 v = n - j >= 8 ? _mm256_loadu_ps(x + j) : LoadPadded(x + j, n - j);
    const __m256 d = _mm256_sub_ps(vm, _mm256_mul_ps(v, vs));
    const __m256 k = _mm256_min_ps(_mm256_mul_ps(d, vw), max_key);  // NaN: the second operand
    const __m256i k32 = _mm256_cvttps_epi32(k);
    const __m128i k16 =
        _mm_packus_epi32(_mm256_castsi256_si128(k32), _mm256_extracti128_si256(k32, 1));
    if (n - j >= 8) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(keys + j), k16);
    } else {
      alignas(16) uint16_t buf[8];
      _mm_store_si128(reinterpret_cast<__m128i*>(buf), k16);
      for (int64_t i = 0; i < n - j; ++i) keys[j + i] = buf[i];
    }
  }
}

int64_t CollectAbove(const float* x, int64_t n, float scale, float threshold, bool inclusive,
                     int32_t base, int32_t* out) {
  const __m256 vs = _mm256_set1_ps(scale), vt = _mm256_set1_ps(threshold);
  int64_t count = 0;
  for (int64_t j = 0; j < n; j += 8) {
    const int64_t rem = n - j;
    const __m256 v = _mm256_mul_ps(rem >= 8 ? _mm256_loadu_ps(x + j) : LoadPadded(x + j, rem), vs);
    const __m256 hit =
        inclusive ? _mm256_cmp_ps(v, vt, _CMP_GE_OQ) : _mm256_cmp_ps(v, vt, _CMP_GT_OQ);
    unsigned mask = static_cast<unsigned>(_mm256_movemask_ps(hit));
    if (rem < 8) mask &= (1u << rem) - 1;  // -inf padding passes an inclusive -inf threshold
    while (mask != 0) {
      out[count++] = base + static_cast<int32_t>(j + __builtin_ctz(mask));
      mask &= mask - 1;
    }
  }
  return count;
}

int64_t CollectKeys(const uint16_t* keys, int64_t n, uint16_t lo, uint16_t hi, int32_t base,
                    int32_t* out) {
  const __m256i vlo = _mm256_set1_epi16(static_cast<short>(lo));
  const __m256i vhi = _mm256_set1_epi16(static_cast<short>(hi));
  int64_t count = 0;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256i k = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(keys + j));
    // Unsigned lo <= k <= hi: clamping k into [lo, hi] leaves it unchanged.
    const __m256i clamped = _mm256_min_epu16(_mm256_max_epu16(k, vlo), vhi);
    // Two mask bits per key; keep the low one of each pair.
    unsigned mask =
        static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi16(clamped, k))) & 0x55555555u;
    while (mask != 0) {
      out[count++] = base + static_cast<int32_t>(j + (__builtin_ctz(mask) >> 1));
      mask &= mask - 1;
    }
  }
  for (; j < n; ++j) {
    if (keys[j] >= lo && keys[j] <= hi) out[count++] = base + static_cast<int32_t>(j);
  }
  return count;
}

}  // namespace

const SamplingKernels kAvx2SamplingKernels = {
    .name = "avx2",
    .min_max = MinMax,
    .exp_sum = ExpSum,
    .bucket_keys = BucketKeys,
    .collect_above = CollectAbove,
    .collect_keys = CollectKeys,
};

}  // namespace tpserve::shard::internal
