// AVX-512 vector helpers, attention inner loops and the delta-rule recurrence (see the ODR note in
// isa_kernels.h: intrinsics and plain loops only, helpers in an anonymous namespace).

// GCC 12's AVX-512 headers build their "undefined" vectors as `__m512 __Y = __Y;`, which
// -Wuninitialized reports at every inlined use; the values are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <math.h>

#include <cstdint>

#include "ops/cpu/kernels/isa_kernels.h"

namespace tpserve::ops::cpu::isa::avx512 {
namespace {

inline __mmask16 TailMask(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1u);
}

template <ElemType T>
inline __m512 LoadMasked(const void* base, int64_t i, __mmask16 m) {
  if constexpr (T == ElemType::kF32) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(base) + i);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(base) + i);
    if constexpr (T == ElemType::kBf16) {
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
      return _mm512_cvtph_ps(h);
    }
  }
}

// Horizontal sums of four vectors: {Σa, Σb, Σc, Σd}.
inline __m128 Reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
  // Fold 512 → 256 bits per input, pairing inputs into one register: [a.lo+a.hi | b.lo+b.hi].
  const __m512 ab =
      _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
  const __m512 cd =
      _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xee));
  // Lane L of s now holds four partial sums of input L.
  __m512 s = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
  s = _mm512_add_ps(s, _mm512_permute_ps(s, 0x4e));
  s = _mm512_add_ps(s, _mm512_permute_ps(s, 0xb1));
  return _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, s));
}

// scores[i * nk + r] for a group of G queries and KR keys at a time (independent FMA chains even
// for a single decode query).
template <ElemType T, int G>
void ScoresGroup(const float* q, int64_t q_stride, const void* k, int64_t k_stride, int64_t nk,
                 int64_t d, float scale, float* scores) {
  constexpr int kKr = 4;
  const int64_t row_bytes = k_stride * (T == ElemType::kF32 ? 4 : 2);
  const __m128 vscale = _mm_set1_ps(scale);
  int64_t r = 0;
  for (; r + kKr <= nk; r += kKr) {
    const char* kr = static_cast<const char*>(k) + r * row_bytes;
    __m512 acc[G][kKr];
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
#pragma GCC unroll 4
      for (int j = 0; j < kKr; ++j) acc[i][j] = _mm512_setzero_ps();
    }
    for (int64_t c = 0; c < d; c += 16) {
      const __mmask16 m = TailMask(d - c);
      __m512 kv[kKr];
#pragma GCC unroll 4
      for (int j = 0; j < kKr; ++j) kv[j] = LoadMasked<T>(kr + j * row_bytes, c, m);
#pragma GCC unroll 4
      for (int i = 0; i < G; ++i) {
        const __m512 qv = _mm512_maskz_loadu_ps(m, q + i * q_stride + c);
#pragma GCC unroll 4
        for (int j = 0; j < kKr; ++j) acc[i][j] = _mm512_fmadd_ps(qv, kv[j], acc[i][j]);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
      _mm_storeu_ps(scores + i * nk + r,
                    _mm_mul_ps(vscale, Reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3])));
    }
  }
  for (; r < nk; ++r) {
    const char* kr = static_cast<const char*>(k) + r * row_bytes;
    __m512 acc[G];
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) acc[i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < d; c += 16) {
      const __mmask16 m = TailMask(d - c);
      const __m512 kv = LoadMasked<T>(kr, c, m);
#pragma GCC unroll 4
      for (int i = 0; i < G; ++i) {
        acc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i * q_stride + c), kv, acc[i]);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) scores[i * nk + r] = scale * _mm512_reduce_add_ps(acc[i]);
  }
}

// exp(x) for x ≤ 0 (Cephes expf: a degree-6 polynomial on x − n·ln2, scaled by 2ⁿ; ≈ 1 ulp).
inline __m512 Exp(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));  // exp underflows to 0 below here anyway
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

template <ElemType T>
void ScoresTyped(const float* q, int64_t nq, int64_t q_stride, const void* k, int64_t k_stride,
                 int64_t nk, int64_t d, float scale, float* scores) {
  int64_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    ScoresGroup<T, 4>(q + i * q_stride, q_stride, k, k_stride, nk, d, scale, scores + i * nk);
  }
  for (; i < nq; ++i) {
    ScoresGroup<T, 1>(q + i * q_stride, q_stride, k, k_stride, nk, d, scale, scores + i * nk);
  }
}

// o_i[c, c + 64) += Σ_r p[i][r] v_r[c, c + 64) for a group of G queries: four column vectors at a
// time so even one query has four independent FMA chains.
template <ElemType T, int G>
void AccumulateGroup(const float* p, int64_t nk, const void* v, int64_t v_stride, int64_t d,
                     float* o, int64_t o_stride) {
  constexpr int kCv = 4;
  const int64_t row_bytes = v_stride * (T == ElemType::kF32 ? 4 : 2);
  for (int64_t c = 0; c < d; c += 16 * kCv) {
    __mmask16 m[kCv];
#pragma GCC unroll 4
    for (int j = 0; j < kCv; ++j) m[j] = d - c - 16 * j > 0 ? TailMask(d - c - 16 * j) : 0;
    __m512 acc[G][kCv];
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
#pragma GCC unroll 4
      for (int j = 0; j < kCv; ++j)
        acc[i][j] = _mm512_maskz_loadu_ps(m[j], o + i * o_stride + c + 16 * j);
    }
    const char* vr = static_cast<const char*>(v);
    for (int64_t r = 0; r < nk; ++r, vr += row_bytes) {
      __m512 vv[kCv];
#pragma GCC unroll 4
      for (int j = 0; j < kCv; ++j) vv[j] = LoadMasked<T>(vr, c + 16 * j, m[j]);
#pragma GCC unroll 4
      for (int i = 0; i < G; ++i) {
        const __m512 pr = _mm512_set1_ps(p[i * nk + r]);
#pragma GCC unroll 4
        for (int j = 0; j < kCv; ++j) acc[i][j] = _mm512_fmadd_ps(pr, vv[j], acc[i][j]);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
#pragma GCC unroll 4
      for (int j = 0; j < kCv; ++j)
        _mm512_mask_storeu_ps(o + i * o_stride + c + 16 * j, m[j], acc[i][j]);
    }
  }
}

template <ElemType T>
void AccumulateTyped(const float* p, int64_t nq, const void* v, int64_t v_stride, int64_t nk,
                     int64_t d, float* o, int64_t o_stride) {
  int64_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    AccumulateGroup<T, 4>(p + i * nk, nk, v, v_stride, d, o + i * o_stride, o_stride);
  }
  for (; i < nq; ++i)
    AccumulateGroup<T, 1>(p + i * nk, nk, v, v_stride, d, o + i * o_stride, o_stride);
}

}  // namespace

float Dot(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = TailMask(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void Axpy(float alpha, const float* x, float* y, int64_t n) {
  const __m512 a = _mm512_set1_ps(alpha);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(n - i);
    const __m512 r =
        _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
    _mm512_mask_storeu_ps(y + i, m, r);
  }
}

void Scale(float alpha, float* y, int64_t n) {
  const __m512 a = _mm512_set1_ps(alpha);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(a, _mm512_maskz_loadu_ps(m, y + i)));
  }
}

float ExpSum(float* x, int64_t n, float shift) {
  const __m512 vs = _mm512_set1_ps(shift);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = TailMask(n - i);
    const __m512 e = Exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
    _mm512_mask_storeu_ps(x + i, m, e);
    sum = _mm512_mask_add_ps(sum, m, sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

void AttnScores(const float* q, int64_t nq, int64_t q_stride, const void* k, ElemType ktype,
                int64_t k_stride, int64_t nk, int64_t d, float scale, float* scores) {
  switch (ktype) {
    case ElemType::kF32:
      ScoresTyped<ElemType::kF32>(q, nq, q_stride, k, k_stride, nk, d, scale, scores);
      break;
    case ElemType::kBf16:
      ScoresTyped<ElemType::kBf16>(q, nq, q_stride, k, k_stride, nk, d, scale, scores);
      break;
    case ElemType::kF16:
      ScoresTyped<ElemType::kF16>(q, nq, q_stride, k, k_stride, nk, d, scale, scores);
      break;
  }
}

void AttnAccumulate(const float* p, int64_t nq, const void* v, ElemType vtype, int64_t v_stride,
                    int64_t nk, int64_t d, float* o, int64_t o_stride) {
  switch (vtype) {
    case ElemType::kF32:
      AccumulateTyped<ElemType::kF32>(p, nq, v, v_stride, nk, d, o, o_stride);
      break;
    case ElemType::kBf16:
      AccumulateTyped<ElemType::kBf16>(p, nq, v, v_stride, nk, d, o, o_stride);
      break;
    case ElemType::kF16:
      AccumulateTyped<ElemType::kF16>(p, nq, v, v_stride, nk, d, o, o_stride);
      break;
  }
}

namespace {

// Loads and stores of one 16-column slice of a state row: unmasked on full slices (masked stores
// are slow on some cores), masked on the ragged last one.
template <bool kFull>
inline __m512 LoadCols(const float* p, __mmask16 m) {
  if constexpr (kFull) {
    return _mm512_loadu_ps(p);
  } else {
    return _mm512_maskz_loadu_ps(m, p);
  }
}

template <bool kFull>
inline void StoreCols(float* p, __mmask16 m, __m512 v) {
  if constexpr (kFull) {
    _mm512_storeu_ps(p, v);
  } else {
    _mm512_mask_storeu_ps(p, m, v);
  }
}

// State columns [c0, c0 + 32) (masks m0, m1 for the two halves) over every token.
template <bool kFull>
void DeltaRuleSlice(const DeltaRuleProblem& p, int64_t c0, __mmask16 m0, __mmask16 m1) {
  float* s_base = p.state + c0;
  const int64_t dv = p.dv;
  for (int64_t t = 0; t < p.num_tokens; ++t) {
    const float* q = p.q + t * p.q_stride;
    const float* k = p.k + t * p.k_stride;
    const float* v = p.v + t * p.v_stride + c0;
    const __m512 decay = _mm512_set1_ps(expf(p.g[t * p.g_stride]));
    const __m512 beta = _mm512_set1_ps(p.beta[t * p.beta_stride]);
    // Pass 1: Sᵀk over the undecayed state, two rows per step for independent chains.
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    const float* s = s_base;
    int64_t r = 0;
    for (; r + 2 <= p.dk; r += 2, s += 2 * dv) {
      const __m512 k0 = _mm512_set1_ps(k[r]), k1 = _mm512_set1_ps(k[r + 1]);
      a0 = _mm512_fmadd_ps(k0, LoadCols<kFull>(s, m0), a0);
      a1 = _mm512_fmadd_ps(k0, LoadCols<kFull>(s + 16, m1), a1);
      b0 = _mm512_fmadd_ps(k1, LoadCols<kFull>(s + dv, m0), b0);
      b1 = _mm512_fmadd_ps(k1, LoadCols<kFull>(s + dv + 16, m1), b1);
    }
    if (r < p.dk) {
      const __m512 k0 = _mm512_set1_ps(k[r]);
      a0 = _mm512_fmadd_ps(k0, LoadCols<kFull>(s, m0), a0);
      a1 = _mm512_fmadd_ps(k0, LoadCols<kFull>(s + 16, m1), a1);
    }
    // β·e = β (v − decay·Sᵀk)
    const __m512 e0 =
        _mm512_mul_ps(beta, _mm512_fnmadd_ps(decay, _mm512_add_ps(a0, b0), LoadCols<kFull>(v, m0)));
    const __m512 e1 = _mm512_mul_ps(
        beta, _mm512_fnmadd_ps(decay, _mm512_add_ps(a1, b1), LoadCols<kFull>(v + 16, m1)));
    // Pass 2: S ← decay·S + k (βe)ᵀ and o = Sᵀq.
    __m512 o0 = _mm512_setzero_ps(), o1 = _mm512_setzero_ps();
    __m512 o2 = _mm512_setzero_ps(), o3 = _mm512_setzero_ps();
    float* w = s_base;
    r = 0;
    for (; r + 2 <= p.dk; r += 2, w += 2 * dv) {
      const __m512 k0 = _mm512_set1_ps(k[r]), k1 = _mm512_set1_ps(k[r + 1]);
      const __m512 q0 = _mm512_set1_ps(q[r]), q1 = _mm512_set1_ps(q[r + 1]);
      const __m512 s00 = _mm512_fmadd_ps(decay, LoadCols<kFull>(w, m0), _mm512_mul_ps(k0, e0));
      const __m512 s01 = _mm512_fmadd_ps(decay, LoadCols<kFull>(w + 16, m1), _mm512_mul_ps(k0, e1));
      const __m512 s10 = _mm512_fmadd_ps(decay, LoadCols<kFull>(w + dv, m0), _mm512_mul_ps(k1, e0));
      const __m512 s11 =
          _mm512_fmadd_ps(decay, LoadCols<kFull>(w + dv + 16, m1), _mm512_mul_ps(k1, e1));
      StoreCols<kFull>(w, m0, s00);
      StoreCols<kFull>(w + 16, m1, s01);
      StoreCols<kFull>(w + dv, m0, s10);
      StoreCols<kFull>(w + dv + 16, m1, s11);
      o0 = _mm512_fmadd_ps(q0, s00, o0);
      o1 = _mm512_fmadd_ps(q0, s01, o1);
      o2 = _mm512_fmadd_ps(q1, s10, o2);
      o3 = _mm512_fmadd_ps(q1, s11, o3);
    }
    if (r < p.dk) {
      const __m512 k0 = _mm512_set1_ps(k[r]);
      const __m512 q0 = _mm512_set1_ps(q[r]);
      const __m512 s00 = _mm512_fmadd_ps(decay, LoadCols<kFull>(w, m0), _mm512_mul_ps(k0, e0));
      const __m512 s01 = _mm512_fmadd_ps(decay, LoadCols<kFull>(w + 16, m1), _mm512_mul_ps(k0, e1));
      StoreCols<kFull>(w, m0, s00);
      StoreCols<kFull>(w + 16, m1, s01);
      o0 = _mm512_fmadd_ps(q0, s00, o0);
      o1 = _mm512_fmadd_ps(q0, s01, o1);
    }
    float* o = p.out + t * p.out_stride + c0;
    StoreCols<kFull>(o, m0, _mm512_add_ps(o0, o2));
    StoreCols<kFull>(o + 16, m1, _mm512_add_ps(o1, o3));
  }
}

}  // namespace

// The recurrence is independent per state column, so it runs on 32-column slices of S (dk × 32
// floats, L1-resident) over all tokens: per token one pass computes Sᵀk, a second writes
// S ← exp(g)·S + k eᵀ and accumulates Sᵀq.
void DeltaRule(const DeltaRuleProblem& p) {
  int64_t c0 = 0;
  for (; c0 + 32 <= p.dv; c0 += 32) DeltaRuleSlice<true>(p, c0, 0xffff, 0xffff);
  if (c0 < p.dv) {
    const __mmask16 m0 = TailMask(p.dv - c0);
    const __mmask16 m1 = p.dv - c0 > 16 ? TailMask(p.dv - c0 - 16) : static_cast<__mmask16>(0);
    DeltaRuleSlice<false>(p, c0, m0, m1);
  }
}

}  // namespace tpserve::ops::cpu::isa::avx512
