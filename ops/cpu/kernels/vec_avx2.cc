// AVX2 + FMA + F16C vector helpers, attention inner loops and the delta-rule recurrence (see the
// ODR note in isa_kernels.h). Ragged tails go through small zero-padded stack buffers.
#include <immintrin.h>
#include <math.h>

#include <cstdint>
#include <cstring>

#include "ops/cpu/kernels/isa_kernels.h"

namespace tpserve::ops::cpu::isa::avx2 {
namespace {

template <ElemType T>
inline float LoadScalar(const void* base, int64_t i) {
  if constexpr (T == ElemType::kF32) {
    return static_cast<const float*>(base)[i];
  } else if constexpr (T == ElemType::kBf16) {
    const uint32_t u = static_cast<uint32_t>(static_cast<const uint16_t*>(base)[i]) << 16;
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return f;
  } else {
    return _cvtsh_ss(static_cast<const uint16_t*>(base)[i]);
  }
}

// Elements [i, i + count) (count ≤ 8) widened to f32, zeros above count.
template <ElemType T>
inline __m256 LoadPartial(const void* base, int64_t i, int64_t count) {
  if (count >= 8) {
    if constexpr (T == ElemType::kF32) {
      return _mm256_loadu_ps(static_cast<const float*>(base) + i);
    } else {
      const __m128i h =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i));
      if constexpr (T == ElemType::kBf16) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
      } else {
        return _mm256_cvtph_ps(h);
      }
    }
  }
  alignas(32) float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t j = 0; j < count; ++j) tmp[j] = LoadScalar<T>(base, i + j);
  return _mm256_load_ps(tmp);
}

inline __m256 LoadF(const float* p, int64_t count) {
  return LoadPartial<ElemType::kF32>(p, 0, count);
}

inline void StoreF(float* p, __m256 v, int64_t count) {
  if (count >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, v);
  for (int64_t j = 0; j < count; ++j) p[j] = tmp[j];
}

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// {Σa, Σb, Σc, Σd}.
inline __m128 Reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 v = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
}

// scores for G queries and four keys at a time (independent FMA chains even for one query).
template <ElemType T, int G>
void ScoresGroup(const float* q, int64_t q_stride, const void* k, int64_t k_stride, int64_t nk,
                 int64_t d, float scale, float* scores) {
  constexpr int kKr = 4;
  const int64_t row_bytes = k_stride * (T == ElemType::kF32 ? 4 : 2);
  const __m128 vscale = _mm_set1_ps(scale);
  int64_t r = 0;
  for (; r + kKr <= nk; r += kKr) {
    const char* kr = static_cast<const char*>(k) + r * row_bytes;
    __m256 acc[G][kKr];
#pragma GCC unroll 2
    for (int i = 0; i < G; ++i) {
#pragma GCC unroll 4
      for (int j = 0; j < kKr; ++j) acc[i][j] = _mm256_setzero_ps();
    }
    for (int64_t c = 0; c < d; c += 8) {
      const int64_t cnt = d - c;
      __m256 kv[kKr];
#pragma GCC unroll 4
      for (int j = 0; j < kKr; ++j) kv[j] = LoadPartial<T>(kr + j * row_bytes, c, cnt);
#pragma GCC unroll 2
      for (int i = 0; i < G; ++i) {
        const __m256 qv = LoadF(q + i * q_stride + c, cnt);
#pragma GCC unroll 4
        for (int j = 0; j < kKr; ++j) acc[i][j] = _mm256_fmadd_ps(qv, kv[j], acc[i][j]);
      }
    }
#pragma GCC unroll 2
    for (int i = 0; i < G; ++i) {
      _mm_storeu_ps(scores + i * nk + r,
                    _mm_mul_ps(vscale, Reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3])));
    }
  }
  for (; r < nk; ++r) {
    const char* kr = static_cast<const char*>(k) + r * row_bytes;
    __m256 acc[G];
#pragma GCC unroll 2
    for (int i = 0; i < G; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t c = 0; c < d; c += 8) {
      const int64_t cnt = d - c;
      const __m256 kv = LoadPartial<T>(kr, c, cnt);
#pragma GCC unroll 2
      for (int i = 0; i < G; ++i)
        acc[i] = _mm256_fmadd_ps(LoadF(q + i * q_stride + c, cnt), kv, acc[i]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < G; ++i) scores[i * nk + r] = scale * HorizontalSum(acc[i]);
  }
}

// exp(x) for x ≤ 0 (Cephes expf; inputs below -87 clamp to exp(-87) ≈ 1.6e-38).
inline __m256 Exp(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
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

// o_i[c, c + 16) += Σ_r p[i][r] v_r[c, c + 16): two column vectors at a time.
template <ElemType T, int G>
void AccumulateGroup(const float* p, int64_t nk, const void* v, int64_t v_stride, int64_t d,
                     float* o, int64_t o_stride) {
  const int64_t row_bytes = v_stride * (T == ElemType::kF32 ? 4 : 2);
  for (int64_t c = 0; c < d; c += 16) {
    const int64_t n0 = d - c, n1 = d - c - 8;
    __m256 acc[G][2];
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
      acc[i][0] = LoadF(o + i * o_stride + c, n0);
      acc[i][1] = n1 > 0 ? LoadF(o + i * o_stride + c + 8, n1) : _mm256_setzero_ps();
    }
    const char* vr = static_cast<const char*>(v);
    for (int64_t r = 0; r < nk; ++r, vr += row_bytes) {
      const __m256 v0 = LoadPartial<T>(vr, c, n0);
      const __m256 v1 = n1 > 0 ? LoadPartial<T>(vr, c + 8, n1) : _mm256_setzero_ps();
#pragma GCC unroll 4
      for (int i = 0; i < G; ++i) {
        const __m256 pr = _mm256_set1_ps(p[i * nk + r]);
        acc[i][0] = _mm256_fmadd_ps(pr, v0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(pr, v1, acc[i][1]);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
      StoreF(o + i * o_stride + c, acc[i][0], n0);
      if (n1 > 0) StoreF(o + i * o_stride + c + 8, acc[i][1], n1);
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
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i < n; i += 8) acc0 = _mm256_fmadd_ps(LoadF(a + i, n - i), LoadF(b + i, n - i), acc0);
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

void Axpy(float alpha, const float* x, float* y, int64_t n) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += alpha * x[i];
}

void Scale(float alpha, float* y, int64_t n) {
  const __m256 a = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(a, _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] *= alpha;
}

float ExpSum(float* x, int64_t n, float shift) {
  const __m256 vs = _mm256_set1_ps(shift);
  __m256 sum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = Exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (i < n) {
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, Exp(_mm256_sub_ps(LoadF(x + i, n - i), vs)));
    for (int64_t j = 0; j < n - i; ++j) {
      x[i + j] = tmp[j];
    }
    sum = _mm256_add_ps(sum, LoadF(tmp, n - i));
  }
  return HorizontalSum(sum);
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

// Column slices of 16 (see vec_avx512.cc for the structure).
void DeltaRule(const DeltaRuleProblem& p) {
  for (int64_t c0 = 0; c0 < p.dv; c0 += 16) {
    const int64_t n0 = p.dv - c0;            // valid columns in the first vector (≥ 1)
    const int64_t n1 = n0 > 8 ? n0 - 8 : 0;  // ... in the second
    float* s_base = p.state + c0;
    for (int64_t t = 0; t < p.num_tokens; ++t) {
      const float* q = p.q + t * p.q_stride;
      const float* k = p.k + t * p.k_stride;
      const float* v = p.v + t * p.v_stride + c0;
      const __m256 decay = _mm256_set1_ps(expf(p.g[t * p.g_stride]));
      const __m256 beta = _mm256_set1_ps(p.beta[t * p.beta_stride]);
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      float* s = s_base;
      for (int64_t r = 0; r < p.dk; ++r, s += p.dv) {
        const __m256 kr = _mm256_set1_ps(k[r]);
        a0 = _mm256_fmadd_ps(kr, LoadF(s, n0), a0);
        if (n1 > 0) a1 = _mm256_fmadd_ps(kr, LoadF(s + 8, n1), a1);
      }
      const __m256 e0 = _mm256_mul_ps(beta, _mm256_fnmadd_ps(decay, a0, LoadF(v, n0)));
      const __m256 e1 = n1 > 0 ? _mm256_mul_ps(beta, _mm256_fnmadd_ps(decay, a1, LoadF(v + 8, n1)))
                               : _mm256_setzero_ps();
      __m256 o0 = _mm256_setzero_ps(), o1 = _mm256_setzero_ps();
      s = s_base;
      for (int64_t r = 0; r < p.dk; ++r, s += p.dv) {
        const __m256 kr = _mm256_set1_ps(k[r]);
        const __m256 qr = _mm256_set1_ps(q[r]);
        const __m256 s0 = _mm256_fmadd_ps(decay, LoadF(s, n0), _mm256_mul_ps(kr, e0));
        StoreF(s, s0, n0);
        o0 = _mm256_fmadd_ps(qr, s0, o0);
        if (n1 > 0) {
          const __m256 s1 = _mm256_fmadd_ps(decay, LoadF(s + 8, n1), _mm256_mul_ps(kr, e1));
          StoreF(s + 8, s1, n1);
          o1 = _mm256_fmadd_ps(qr, s1, o1);
        }
      }
      float* o = p.out + t * p.out_stride + c0;
      StoreF(o, o0, n0);
      if (n1 > 0) StoreF(o + 8, o1, n1);
    }
  }
}

}  // namespace tpserve::ops::cpu::isa::avx2
