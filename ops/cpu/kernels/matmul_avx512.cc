// AVX-512 MatMul and GEMM (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma; see the
// ODR note in isa_kernels.h: only intrinsics and plain loops here, helpers in an anonymous
// namespace).
//
// Two shapes:
// - Rows (small m: decode and short chunks, see matmul.cc): R weight rows × M x rows of
//   accumulators, each a vector of 16 k-lanes, run along k and are summed horizontally at the end.
//   Every weight row is read from memory once per call in its stored dtype (bf16/f16 are widened
//   in registers; bf16 → f32 is a 16-bit shift), and the next rows are prefetched meanwhile.
// - Blocked (prefill, large m): BLIS-style. A 32-column panel of wᵀ is packed (converted to f32)
//   for a kc-slice of k and reused from L1 by every 14-row panel of x; 14×32 accumulators stay in
//   registers and each step is 2 vector loads + 14 broadcast FMA pairs.

// GCC 12's AVX-512 headers build their "undefined" vectors as `__m512 __Y = __Y;`, which
// -Wuninitialized reports at every inlined use; the values are never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "ops/cpu/kernels/isa_kernels.h"

namespace tpserve::ops::cpu::isa {
namespace {

constexpr int kMr = 14;            // rows of x per micro-tile
constexpr int kNr = 32;            // columns of out per micro-tile (two vectors)
constexpr int64_t kKc = 256;       // k per packed slice: a 32-column panel of wᵀ is 32 KiB
constexpr int64_t kMc = 8 * kMr;   // rows of x per packed block (112 × 256 floats = 112 KiB)
constexpr int64_t kNc = 512;       // columns per packed wᵀ block (512 KiB, L2-resident)
constexpr int64_t kMs = 74 * kMr;  // x rows packed at once (1036 × 256 floats ≈ 1 MiB)
constexpr int64_t kScratchFloats = kKc * kNc + kMs * kKc;
constexpr int64_t kGemmScratchFloats = kKc * kNc + kMc * kKc;

inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }

inline __mmask16 TailMask(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << count) - 1u);
}

// 16 weights starting at element i, widened to f32.
template <ElemType T>
inline __m512 LoadW(const void* base, int64_t i) {
  if constexpr (T == ElemType::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(base) + i);
  } else {
    const __m256i h = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + i));
    if constexpr (T == ElemType::kBf16) {
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else {
      return _mm512_cvtph_ps(h);
    }
  }
}

template <ElemType T>
inline __m512 LoadWMasked(const void* base, int64_t i, __mmask16 m) {
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

template <ElemType T>
constexpr int64_t ElemBytes() {
  return T == ElemType::kF32 ? 4 : 2;
}

// ---- Rows (decode) ----

// out[i0 + mi, j0 + r] for r < R, mi < M. With kPrefetch, also prefetches weight rows
// [pf, pf + R) (the next block) in step with this block's k loop, so the next block's DRAM
// latency overlaps this block's arithmetic.
template <ElemType T, int R, int M, bool kPrefetch>
void RowsTile(const MatMulProblem& p, int64_t j0, int64_t i0, int64_t pf) {
  const char* w[R];
  const char* pw[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    w[r] = static_cast<const char*>(p.w) + (j0 + r) * p.k * ElemBytes<T>();
    pw[r] = static_cast<const char*>(p.w) + (pf + r) * p.k * ElemBytes<T>();
  }
  const float* x[M];
#pragma GCC unroll 4
  for (int mi = 0; mi < M; ++mi) x[mi] = p.x + (i0 + mi) * p.ldx;

  __m512 acc[R][M];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int mi = 0; mi < M; ++mi) acc[r][mi] = _mm512_setzero_ps();
  }
  const int64_t k = p.k;
  int64_t c = 0;
  for (; c + 16 <= k; c += 16) {
    if constexpr (kPrefetch) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) _mm_prefetch(pw[r] + c * ElemBytes<T>(), _MM_HINT_T0);
    }
    __m512 xv[M];
#pragma GCC unroll 4
    for (int mi = 0; mi < M; ++mi) xv[mi] = _mm512_loadu_ps(x[mi] + c);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 wv = LoadW<T>(w[r], c);
#pragma GCC unroll 4
      for (int mi = 0; mi < M; ++mi) acc[r][mi] = _mm512_fmadd_ps(wv, xv[mi], acc[r][mi]);
    }
  }
  if (c < k) {
    const __mmask16 mask = TailMask(k - c);
    __m512 xv[M];
#pragma GCC unroll 4
    for (int mi = 0; mi < M; ++mi) xv[mi] = _mm512_maskz_loadu_ps(mask, x[mi] + c);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 wv = LoadWMasked<T>(w[r], c, mask);
#pragma GCC unroll 4
      for (int mi = 0; mi < M; ++mi) acc[r][mi] = _mm512_fmadd_ps(wv, xv[mi], acc[r][mi]);
    }
  }
#pragma GCC unroll 4
  for (int mi = 0; mi < M; ++mi) {
    float* o = p.out + (i0 + mi) * p.ldo + j0;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      float base = p.bias != nullptr ? p.bias[j0 + r] : 0.0f;
      if (p.accumulate) base += o[r];
      o[r] = base + _mm512_reduce_add_ps(acc[r][mi]);
    }
  }
}

template <ElemType T, int R, bool kPrefetch>
void RowsTileM(const MatMulProblem& p, int64_t j0, int64_t i0, int64_t rows, int64_t pf) {
  switch (rows) {
    case 4:
      RowsTile<T, R, 4, kPrefetch>(p, j0, i0, pf);
      break;
    case 3:
      RowsTile<T, R, 3, kPrefetch>(p, j0, i0, pf);
      break;
    case 2:
      RowsTile<T, R, 2, kPrefetch>(p, j0, i0, pf);
      break;
    default:
      RowsTile<T, R, 1, kPrefetch>(p, j0, i0, pf);
      break;
  }
}

// Weight rows [j0, j0 + R) against every x row, 4 x rows per tile; the first tile prefetches
// the next block [j0 + R, j0 + 2R) when it lies inside [.., n_end).
template <ElemType T, int R>
void RowsBlock(const MatMulProblem& p, int64_t j0, int64_t n_end) {
  const bool prefetch = j0 + 2 * R <= n_end;
  for (int64_t i0 = 0; i0 < p.m; i0 += 4) {
    const int64_t rows = p.m - i0 < 4 ? p.m - i0 : 4;
    if (i0 == 0 && prefetch) {
      RowsTileM<T, R, true>(p, j0, i0, rows, j0 + R);
    } else {
      RowsTileM<T, R, false>(p, j0, i0, rows, j0);
    }
  }
}

template <ElemType T>
void RowsTyped(const MatMulProblem& p, int64_t n_begin, int64_t n_end) {
  int64_t j = n_begin;
  if (p.m <= 2) {
    // Few x rows: eight weight rows give enough independent FMA chains.
    for (; j + 8 <= n_end; j += 8) RowsBlock<T, 8>(p, j, n_end);
  }
  for (; j + 6 <= n_end; j += 6) RowsBlock<T, 6>(p, j, n_end);
  for (; j + 2 <= n_end; j += 2) RowsBlock<T, 2>(p, j, n_end);
  for (; j < n_end; ++j) RowsBlock<T, 1>(p, j, n_end);
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

// c[rows, cols] (+)= ap[kc][kMr] · bp[kc][kNr] (+ bias[cols]); rows ≤ kMr, cols ≤ kNr.
void MicroKernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int rows,
                 int cols, bool load_c, const float* bias) {
  __m512 acc[kMr][2];
#pragma GCC unroll 14
  for (int i = 0; i < kMr; ++i) {
    acc[i][0] = _mm512_setzero_ps();
    acc[i][1] = _mm512_setzero_ps();
  }
  for (int64_t q = 0; q < kc; ++q) {
    const __m512 b0 = _mm512_load_ps(bp);
    const __m512 b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 14
    for (int i = 0; i < kMr; ++i) {
      const __m512 a = _mm512_set1_ps(ap[i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
    }
    ap += kMr;
    bp += kNr;
  }
  const __mmask16 m0 = TailMask(cols);
  const __mmask16 m1 = cols > 16 ? TailMask(cols - 16) : static_cast<__mmask16>(0);
  __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
  if (bias != nullptr) {
    bias0 = _mm512_maskz_loadu_ps(m0, bias);
    bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
  }
#pragma GCC unroll 14
  for (int i = 0; i < kMr; ++i) {
    if (i < rows) {
      float* ci = c + i * ldc;
      __m512 v0 = _mm512_add_ps(acc[i][0], bias0);
      __m512 v1 = _mm512_add_ps(acc[i][1], bias1);
      if (load_c) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
      }
      _mm512_mask_storeu_ps(ci, m0, v0);
      _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
  }
}

// Transposes a 16×16 f32 tile held in r[0..15] (rows) into columns, in place.
inline void Transpose16x16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const int b = 4 * i;
    r[b + 0] = _mm512_shuffle_ps(t[b + 0], t[b + 2], 0x44);
    r[b + 1] = _mm512_shuffle_ps(t[b + 0], t[b + 2], 0xee);
    r[b + 2] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0x44);
    r[b + 3] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0xee);
  }
  // Now r[4i + j] holds, per 128-bit lane L, column (4L + j) of rows 4i..4i+3.
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    t[j + 0] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    t[j + 4] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
    t[j + 8] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    t[j + 12] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[j + 0] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    r[j + 4] = _mm512_shuffle_f32x4(t[j + 4], t[j + 12], 0x88);
    r[j + 12] = _mm512_shuffle_f32x4(t[j + 4], t[j + 12], 0xdd);
  }
}

// dst[panel][q][kNr] = w[j0 + panel·kNr + jj, p0 + q] (0 past ncols), for q < kc.
template <ElemType T>
void PackWPanels(const MatMulProblem& p, int64_t j0, int64_t ncols, int64_t p0, int64_t kc,
                 float* dst) {
  const char* wbase = static_cast<const char*>(p.w);
  for (int64_t jp = 0; jp < ncols; jp += kNr) {
    float* panel = dst + jp * kc;
    const int64_t pc = Min(kNr, ncols - jp);
    for (int half = 0; half < 2; ++half) {
      const int64_t h0 = half * 16;
      const int64_t hc = pc - h0;  // valid rows in this half
      if (hc <= 0) {
        for (int64_t q = 0; q < kc; ++q) _mm512_store_ps(panel + q * kNr + h0, _mm512_setzero_ps());
        continue;
      }
      const void* rows[16];
      for (int i = 0; i < 16; ++i) {
        const int64_t row = j0 + jp + h0 + (i < hc ? i : 0);
        rows[i] = wbase + (row * p.k + p0) * ElemBytes<T>();
      }
      int64_t q = 0;
      for (; q < kc; q += 16) {
        const __mmask16 mask = TailMask(kc - q);
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; ++i) {
          r[i] = i < hc ? LoadWMasked<T>(rows[i], q, mask) : _mm512_setzero_ps();
        }
        Transpose16x16(r);
        const int64_t qn = Min(16, kc - q);
        for (int64_t i = 0; i < qn; ++i) _mm512_store_ps(panel + (q + i) * kNr + h0, r[i]);
      }
    }
  }
}

// dst[panel][q][kMr] = A(i0 + panel·kMr + i, p0 + q) (0 past nrows), A(i, q) = a[i·rs + q·cs].
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

// dst[panel][q][kNr] = b[(p0 + q)·ldb + j0 + panel·kNr + jj] (0 past ncols).
void PackBPanels(const float* b, int64_t ldb, int64_t j0, int64_t ncols, int64_t p0, int64_t kc,
                 float* dst) {
  for (int64_t jp = 0; jp < ncols; jp += kNr) {
    float* panel = dst + jp * kc;
    const int64_t pc = Min(kNr, ncols - jp);
    const __mmask16 m0 = TailMask(pc);
    const __mmask16 m1 = pc > 16 ? TailMask(pc - 16) : static_cast<__mmask16>(0);
    for (int64_t q = 0; q < kc; ++q) {
      const float* src = b + (p0 + q) * ldb + j0 + jp;
      _mm512_store_ps(panel + q * kNr, _mm512_maskz_loadu_ps(m0, src));
      _mm512_store_ps(panel + q * kNr + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
  }
}

// One packed block: c[mc, nc] (+)= apack · bpack.
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

const KernelTable kAvx512Kernels = {
    /*name=*/"avx512",
    /*matmul_rows=*/MatMulRows,
    /*matmul_blocked=*/MatMulBlocked,
    /*blocked_panel_cols=*/kNr,
    /*blocked_scratch_floats=*/kScratchFloats,
    /*gemm=*/Gemm,
    /*gemm_scratch_floats=*/kGemmScratchFloats,
    /*dot=*/avx512::Dot,
    /*axpy=*/avx512::Axpy,
    /*scale=*/avx512::Scale,
    /*attn_scores=*/avx512::AttnScores,
    /*attn_accumulate=*/avx512::AttnAccumulate,
    /*exp_sum=*/avx512::ExpSum,
    /*delta_rule=*/avx512::DeltaRule,
};

}  // namespace tpserve::ops::cpu::isa
