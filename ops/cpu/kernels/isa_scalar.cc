// The portable KernelTable: plain C++ that any target compiles (x86-64 baseline, arm64). It is also
// the fallback the tests compare the SIMD tables against.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/base/dtype.h"
#include "ops/cpu/kernels/isa_kernels.h"

namespace tpserve::ops::cpu::isa {
namespace {

inline float LoadElem(const void* base, ElemType t, int64_t i) {
  switch (t) {
    case ElemType::kF32:
      return static_cast<const float*>(base)[i];
    case ElemType::kBf16:
      return Bf16ToF32(static_cast<const uint16_t*>(base)[i]);
    case ElemType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(base)[i]);
  }
  return 0.0f;
}

inline int64_t ElemBytes(ElemType t) { return t == ElemType::kF32 ? 4 : 2; }

// Eight partial sums so the compiler can keep two SSE vectors busy without reassociating.
float Dot(const float* a, const float* b, int64_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
  }
  float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
  for (; i < n; ++i) t += a[i] * b[i];
  return t;
}

void Axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void Scale(float alpha, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= alpha;
}

void MatMulRows(const MatMulProblem& p, int64_t n_begin, int64_t n_end) {
  thread_local std::vector<float> wbuf;
  if (p.wtype != ElemType::kF32) wbuf.resize(static_cast<size_t>(p.k));
  float* wrow = wbuf.data();
  for (int64_t j = n_begin; j < n_end; ++j) {
    const float* w;
    if (p.wtype == ElemType::kF32) {
      w = static_cast<const float*>(p.w) + j * p.k;
    } else {
      const void* src = static_cast<const char*>(p.w) + j * p.k * ElemBytes(p.wtype);
      for (int64_t c = 0; c < p.k; ++c) wrow[c] = LoadElem(src, p.wtype, c);
      w = wrow;
    }
    const float bias = p.bias != nullptr ? p.bias[j] : 0.0f;
    for (int64_t i = 0; i < p.m; ++i) {
      float* o = p.out + i * p.ldo + j;
      const float base = p.accumulate ? *o + bias : bias;
      *o = base + Dot(p.x + i * p.ldx, w, p.k);
    }
  }
}

void MatMulBlocked(const MatMulProblem& p, int64_t n_begin, int64_t n_end, float* /*scratch*/) {
  MatMulRows(p, n_begin, n_end);
}

void Gemm(const GemmProblem& p, float* /*scratch*/) {
  for (int64_t i = 0; i < p.m; ++i) {
    float* c = p.c + i * p.ldc;
    if (!p.accumulate) std::memset(c, 0, static_cast<size_t>(p.n) * sizeof(float));
    for (int64_t q = 0; q < p.k; ++q) {
      Axpy(p.a[i * p.a_rs + q * p.a_cs], p.b + q * p.ldb, c, p.n);
    }
  }
}

void AttnScores(const float* q, int64_t nq, int64_t q_stride, const void* k, ElemType ktype,
                int64_t k_stride, int64_t nk, int64_t d, float scale, float* scores) {
  for (int64_t r = 0; r < nk; ++r) {
    const int64_t row = r * k_stride;
    for (int64_t i = 0; i < nq; ++i) {
      const float* qi = q + i * q_stride;
      float s;
      if (ktype == ElemType::kF32) {
        s = Dot(qi, static_cast<const float*>(k) + row, d);
      } else {
        s = 0.0f;
        for (int64_t c = 0; c < d; ++c) s += qi[c] * LoadElem(k, ktype, row + c);
      }
      scores[i * nk + r] = scale * s;
    }
  }
}

void AttnAccumulate(const float* p, int64_t nq, const void* v, ElemType vtype, int64_t v_stride,
                    int64_t nk, int64_t d, float* o, int64_t o_stride) {
  for (int64_t r = 0; r < nk; ++r) {
    const int64_t row = r * v_stride;
    for (int64_t i = 0; i < nq; ++i) {
      const float pr = p[i * nk + r];
      if (pr == 0.0f) continue;
      float* oi = o + i * o_stride;
      if (vtype == ElemType::kF32) {
        Axpy(pr, static_cast<const float*>(v) + row, oi, d);
      } else {
        for (int64_t c = 0; c < d; ++c) oi[c] += pr * LoadElem(v, vtype, row + c);
      }
    }
  }
}

float ExpSum(float* x, int64_t n, float shift) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

void DeltaRule(const DeltaRuleProblem& p) {
  thread_local std::vector<float> ks_buf;
  ks_buf.resize(static_cast<size_t>(p.dv));
  float* ks = ks_buf.data();
  for (int64_t t = 0; t < p.num_tokens; ++t) {
    const float* q = p.q + t * p.q_stride;
    const float* k = p.k + t * p.k_stride;
    const float* v = p.v + t * p.v_stride;
    const float decay = std::exp(p.g[t * p.g_stride]);
    const float beta = p.beta[t * p.beta_stride];
    float* o = p.out + t * p.out_stride;
    // Pass 1: kS = (decay·S)ᵀ k, without writing the decayed state yet.
    for (int64_t c = 0; c < p.dv; ++c) ks[c] = 0.0f;
    for (int64_t r = 0; r < p.dk; ++r) Axpy(k[r], p.state + r * p.dv, ks, p.dv);
    for (int64_t c = 0; c < p.dv; ++c) ks[c] = beta * (v[c] - decay * ks[c]);  // β·e
    // Pass 2: S ← decay·S + k eᵀ, o = Sᵀ q.
    for (int64_t c = 0; c < p.dv; ++c) o[c] = 0.0f;
    for (int64_t r = 0; r < p.dk; ++r) {
      float* s = p.state + r * p.dv;
      for (int64_t c = 0; c < p.dv; ++c) s[c] = decay * s[c] + k[r] * ks[c];
      Axpy(q[r], s, o, p.dv);
    }
  }
}

}  // namespace

const KernelTable kScalarKernels = {
    /*name=*/"scalar",
    /*matmul_rows=*/MatMulRows,
    /*matmul_blocked=*/MatMulBlocked,
    /*blocked_panel_cols=*/1,
    /*blocked_scratch_floats=*/0,
    /*gemm=*/Gemm,
    /*gemm_scratch_floats=*/0,
    /*dot=*/Dot,
    /*axpy=*/Axpy,
    /*scale=*/Scale,
    /*attn_scores=*/AttnScores,
    /*attn_accumulate=*/AttnAccumulate,
    /*exp_sum=*/ExpSum,
    /*delta_rule=*/DeltaRule,
};

}  // namespace tpserve::ops::cpu::isa
