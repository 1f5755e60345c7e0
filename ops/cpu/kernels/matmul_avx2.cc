// AVX2 + FMA + F16C MatMul and GEMM (compiled with -mavx2 -mfma -mf16c; see the ODR note in
// isa_kernels.h). Same structure as matmul_avx512.cc with 8-lane vectors: rows tiles of
// 4 weight rows × 2 x rows (8 × 1 for a single x row), and a 6×16 blocked micro-kernel.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "ops/cpu/kernels/isa_kernels.h"

namespace tpserve::ops::cpu::isa {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 16 * kMr;
constexpr int64_t kNc = 512;
constexpr int64_t kMs = 172 * kMr;  // x rows packed at once (1032 × 256 floats ≈ 1 MiB)
constexpr int64_t kScratchFloats = kKc * kNc + kMs * kKc;
constexpr int64_t kGemmScratchFloats = kKc * kNc + kMc * kKc;

inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }

inline float Bf16Bits(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

template <ElemType T>
constexpr int64_t ElemBytes() {
  return T == ElemType::kF32 ? 4 : 2;
}

template <ElemType T>
inline float LoadScalar(const void* base, int64_t i) {
  if constexpr (T == ElemType::kF32) {
    return static_cast<const float*>(base)[i];
  } else if constexpr (T == ElemType::kBf16) {
    return Bf16Bits(static_cast<const uint16_t*>(base)[i]);
  } else {
    return _cvtsh_ss(static_cast<const uint16_t*>(base)[i]);
  }
}

// 8 weights starting at element i, widened to f32.
template <ElemType T>
inline __m256 LoadW(const void* base, int64_t i) {
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

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---- Rows (decode) ----

template <ElemType T, int R, int M>
void RowsTile(const MatMulProblem& p, int64_t j0, int64_t i0) {
  const char* w[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    w[r] = static_cast<const char*>(p.w) + (j0 + r) * p.k * ElemBytes<T>();
  }
  const float* x[M];
#pragma GCC unroll 2
  for (int mi = 0; mi < M; ++mi) x[mi] = p.x + (i0 + mi) * p.ldx;
  __m256 acc[R][M];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 2
    for (int mi = 0; mi < M; ++mi) acc[r][mi] = _mm256_setzero_ps();
  }
  const int64_t k = p.k;
  int64_t c = 0;
  for (; c + 8 <= k; c += 8) {
    __m256 xv[M];
#pragma GCC unroll 2
    for (int mi = 0; mi < M; ++mi) xv[mi] = _mm256_loadu_ps(x[mi] + c);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 wv = LoadW<T>(w[r], c);
#pragma GCC unroll 2
      for (int mi = 0; mi < M; ++mi) acc[r][mi] = _mm256_fmadd_ps(wv, xv[mi], acc[r][mi]);
    }
  }
#pragma GCC unroll 2
  for (int mi = 0; mi < M; ++mi) {
    float* o = p.out + (i0 + mi) * p.ldo + j0;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      float tail = 0.0f;
      for (int64_t cc = c; cc < k; ++cc) tail += x[mi][cc] * LoadScalar<T>(w[r], cc);
      float base = p.bias != nullptr ? p.bias[j0 + r] : 0.0f;
      if (p.accumulate) base += o[r];
      o[r] = base + (HorizontalSum(acc[r][mi]) + tail);
    }
  }
}

template <ElemType T, int R>
void RowsBlock(const MatMulProblem& p, int64_t j0) {
  int64_t i0 = 0;
  for (; i0 + 2 <= p.m; i0 += 2) RowsTile<T, R, 2>(p, j0, i0);
  if (i0 < p.m) RowsTile<T, R, 1>(p, j0, i0);
}

template <ElemType T>
void RowsTyped(const MatMulProblem& p, int64_t n_begin, int64_t n_end) {
  int64_t j = n_begin;
  if (p.m == 1) {
    for (; j + 8 <= n_end; j += 8) RowsTile<T, 8, 1>(p, j, 0);
  }
  for (; j + 4 <= n_end; j += 4) RowsBlock<T, 4>(p, j);
  for (; j < n_end; ++j) RowsBlock<T, 1>(p, j);
}

void MatMulRows(const MatMulProblem& p, int64_t n_begin, int64_t n_end) {
  switch (p.wtype) {
    case ElemType::kF32:
      RowsTyped<ElemType::kF32>(p, n_begin, n_end);
      break;
    case ElemType::kBf16:
      RowsTyped<ElemType::kBf16>(p, n_begin, n_end);
      break;
    case ElemType::kF16:
      RowsTyped<ElemType::kF16>(p, n_begin, n_end);
      break;
  }
}

// ---- Blocked (prefill) ----

void MicroKernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int rows,
                 int cols, bool load_c, const float* bias) {
  __m256 acc[kMr][2];
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    acc[i][0] = _mm256_setzero_ps();
    acc[i][1] = _mm256_setzero_ps();
  }
  for (int64_t q = 0; q < kc; ++q) {
    const __m256 b0 = _mm256_load_ps(bp);
    const __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kMr; ++i) {
      const __m256 a = _mm256_broadcast_ss(ap + i);
      acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
    }
    ap += kMr;
    bp += kNr;
  }
  // Constant indices only (an unrolled loop with a guard), so acc stays in registers.
  alignas(32) float tile[kNr];
#pragma GCC unroll 6
  for (int i = 0; i < kMr; ++i) {
    if (i >= rows) break;
    float* ci = c + i * ldc;
    if (cols == kNr) {
      __m256 v0 = acc[i][0], v1 = acc[i][1];
      if (bias != nullptr) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8));
      }
      if (load_c) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(ci));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(ci + 8));
      }
      _mm256_storeu_ps(ci, v0);
      _mm256_storeu_ps(ci + 8, v1);
      continue;
    }
    _mm256_store_ps(tile, acc[i][0]);
    _mm256_store_ps(tile + 8, acc[i][1]);
    for (int j = 0; j < cols; ++j) {
      float v = tile[j];
      if (bias != nullptr) v += bias[j];
      ci[j] = load_c ? ci[j] + v : v;
    }
  }
}

template <ElemType T>
void PackWPanels(const MatMulProblem& p, int64_t j0, int64_t ncols, int64_t p0, int64_t kc,
                 float* dst) {
  for (int64_t jp = 0; jp < ncols; jp += kNr) {
    float* panel = dst + jp * kc;
    const int64_t pc = Min(kNr, ncols - jp);
    for (int64_t jj = 0; jj < kNr; ++jj) {
      if (jj < pc) {
        const char* src =
            static_cast<const char*>(p.w) + ((j0 + jp + jj) * p.k + p0) * ElemBytes<T>();
        for (int64_t q = 0; q < kc; ++q) panel[q * kNr + jj] = LoadScalar<T>(src, q);
      } else {
        for (int64_t q = 0; q < kc; ++q) panel[q * kNr + jj] = 0.0f;
      }
    }
  }
}

void PackAPanels(const float* a, int64_t rs, int64_t cs, int64_t i0, int64_t nrows, int64_t p0,
                 int64_t kc, float* dst) {
  for (int64_t ip = 0; ip < nrows; ip += kMr) {
    float* panel = dst + ip * kc;
    const int64_t pr = Min(kMr, nrows - ip);
    for (int64_t i = 0; i < kMr; ++i) {
      if (i < pr) {
        const float* src = a + (i0 + ip + i) * rs + p0 * cs;
        for (int64_t q = 0; q < kc; ++q) panel[q * kMr + i] = src[q * cs];
      } else {
        for (int64_t q = 0; q < kc; ++q) panel[q * kMr + i] = 0.0f;
      }
    }
  }
}

void PackBPanels(const float* b, int64_t ldb, int64_t j0, int64_t ncols, int64_t p0, int64_t kc,
                 float* dst) {
  for (int64_t jp = 0; jp < ncols; jp += kNr) {
    float* panel = dst + jp * kc;
    const int64_t pc = Min(kNr, ncols - jp);
    for (int64_t q = 0; q < kc; ++q) {
      const float* src = b + (p0 + q) * ldb + j0 + jp;
      float* d = panel + q * kNr;
      if (pc == kNr) {
        _mm256_store_ps(d, _mm256_loadu_ps(src));
        _mm256_store_ps(d + 8, _mm256_loadu_ps(src + 8));
      } else {
        for (int64_t jj = 0; jj < kNr; ++jj) d[jj] = jj < pc ? src[jj] : 0.0f;
      }
    }
  }
}

void RunBlock(const float* apack, const float* bpack, int64_t mc, int64_t nc, int64_t kc, float* c,
              int64_t ldc, bool load_c, const float* bias) {
  for (int64_t jr = 0; jr < nc; jr += kNr) {
    const int cols = static_cast<int>(Min(kNr, nc - jr));
    for (int64_t ir = 0; ir < mc; ir += kMr) {
      const int rows = static_cast<int>(Min(kMr, mc - ir));
      MicroKernel(kc, apack + ir * kc, bpack + jr * kc, c + ir * ldc + jr, ldc, rows, cols, load_c,
                  bias != nullptr ? bias + jr : nullptr);
    }
  }
}

// Loop order: x-row super-blocks of kMs rows, k slices of kKc; x is packed once per (super-block,
// slice) and reused by every weight panel, each weight panel is packed once per super-block.
template <ElemType T>
void BlockedTyped(const MatMulProblem& p, int64_t n_begin, int64_t n_end, float* scratch) {
  float* bpack = scratch;
  float* apack = scratch + kKc * kNc;
  for (int64_t ms = 0; ms < p.m; ms += kMs) {
    const int64_t msz = Min(kMs, p.m - ms);
    for (int64_t pc = 0; pc < p.k; pc += kKc) {
      const int64_t kc = Min(kKc, p.k - pc);
      const bool first = pc == 0;
      PackAPanels(p.x, p.ldx, 1, ms, msz, pc, kc, apack);
      for (int64_t jc = n_begin; jc < n_end; jc += kNc) {
        const int64_t nc = Min(kNc, n_end - jc);
        PackWPanels<T>(p, jc, nc, pc, kc, bpack);
        for (int64_t ic = 0; ic < msz; ic += kMc) {
          const int64_t mc = Min(kMc, msz - ic);
          RunBlock(apack + ic * kc, bpack, mc, nc, kc, p.out + (ms + ic) * p.ldo + jc, p.ldo,
                   !first || p.accumulate, first && p.bias != nullptr ? p.bias + jc : nullptr);
        }
      }
    }
  }
}

void MatMulBlocked(const MatMulProblem& p, int64_t n_begin, int64_t n_end, float* scratch) {
  switch (p.wtype) {
    case ElemType::kF32:
      BlockedTyped<ElemType::kF32>(p, n_begin, n_end, scratch);
      break;
    case ElemType::kBf16:
      BlockedTyped<ElemType::kBf16>(p, n_begin, n_end, scratch);
      break;
    case ElemType::kF16:
      BlockedTyped<ElemType::kF16>(p, n_begin, n_end, scratch);
      break;
  }
}

void Gemm(const GemmProblem& p, float* scratch) {
  float* bpack = scratch;
  float* apack = scratch + kKc * kNc;
  if (p.k == 0 && !p.accumulate) {
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) p.c[i * p.ldc + j] = 0.0f;
    }
    return;
  }
  for (int64_t jc = 0; jc < p.n; jc += kNc) {
    const int64_t nc = Min(kNc, p.n - jc);
    for (int64_t pc = 0; pc < p.k; pc += kKc) {
      const int64_t kc = Min(kKc, p.k - pc);
      PackBPanels(p.b, p.ldb, jc, nc, pc, kc, bpack);
      for (int64_t ic = 0; ic < p.m; ic += kMc) {
        const int64_t mc = Min(kMc, p.m - ic);
        PackAPanels(p.a, p.a_rs, p.a_cs, ic, mc, pc, kc, apack);
        RunBlock(apack, bpack, mc, nc, kc, p.c + ic * p.ldc + jc, p.ldc, pc > 0 || p.accumulate,
                 nullptr);
      }
    }
  }
}

}  // namespace

const KernelTable kAvx2Kernels = {
    /*name=*/"avx2",
    /*matmul_rows=*/MatMulRows,
    /*matmul_blocked=*/MatMulBlocked,
    /*blocked_panel_cols=*/kNr,
    /*blocked_scratch_floats=*/kScratchFloats,
    /*gemm=*/Gemm,
    /*gemm_scratch_floats=*/kGemmScratchFloats,
    /*dot=*/avx2::Dot,
    /*axpy=*/avx2::Axpy,
    /*scale=*/avx2::Scale,
    /*attn_scores=*/avx2::AttnScores,
    /*attn_accumulate=*/avx2::AttnAccumulate,
    /*exp_sum=*/avx2::ExpSum,
    /*delta_rule=*/avx2::DeltaRule,
};

}  // namespace tpserve::ops::cpu::isa
