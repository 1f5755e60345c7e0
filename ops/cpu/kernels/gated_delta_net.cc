// GatedDeltaNet: the gated delta rule per (sequence, value head), token by token (ISA kernel) or in
// chunks (spec §3.5 step 8) for sequences with at least chunk_size tokens.
//
// Chunked form, per chunk of L ≤ C rows with G = cumsum(g), Γ[i,j] = exp(G_i − G_j):
//   A = strict_lower(diag(β) K Kᵀ ⊙ Γ);  [U | W] = (I + A)⁻¹ [diag(β) V | diag(β e^G) K]
//   V' = U − W S;  O = diag(e^G) Q S + (Q Kᵀ ⊙ Γ)_lower V';  S ← e^{G_L−1} S + (diag(e^{G_L−1 − G}) K)ᵀ V'
// A short last chunk is exactly the zero-padded chunk of the spec (padding rows have k = 0, g = 0).
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/dispatch_internal.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

constexpr std::string_view kOp = "GatedDeltaNet";

absl::Status Validate(const GatedDeltaNetArgs& a) {
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "q", a.q, {DType::kF32},
                                  {{"n", kAnyDim}, {"k_heads", kAnyDim}, {"dk", kAnyDim}}));
  const int64_t n = a.q.dim(0), k_heads = a.q.dim(1), dk = a.q.dim(2);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "k", a.k, {DType::kF32}, {{"n", n}, {"k_heads", k_heads}, {"dk", dk}}));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "v", a.v, {DType::kF32},
                                  {{"n", n}, {"v_heads", kAnyDim}, {"dv", kAnyDim}}));
  const int64_t v_heads = a.v.dim(1), dv = a.v.dim(2);
  if (k_heads <= 0 || v_heads % k_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GatedDeltaNet: v_heads (", v_heads, ") must be a multiple of k_heads (", k_heads,
        "); q ", DescribeView(a.q), ", v ", DescribeView(a.v)));
  }
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "g", a.g, {DType::kF32}, {{"n", n}, {"v_heads", v_heads}}));
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "beta", a.beta, {DType::kF32}, {{"n", n}, {"v_heads", v_heads}}));
  TPS_RETURN_IF_ERROR(CheckContiguousTensor(
      kOp, "state", a.state, {DType::kF32},
      {{"max_slots", kAnyDim}, {"v_heads", v_heads}, {"dk", dk}, {"dv", dv}}));
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "seq_starts", a.seq_starts, {DType::kI32}, {{"num_seqs+1", kAnyDim}}));
  TPS_RETURN_IF_ERROR(CheckSeqStarts(kOp, a.seq_starts, n));
  const int64_t num_seqs = a.seq_starts.dim(0) - 1;
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "slots", a.slots, {DType::kI32}, {{"num_seqs", num_seqs}}));
  TPS_RETURN_IF_ERROR(CheckSlots(kOp, a.slots, num_seqs, a.state.dim(0)));
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "out", a.out, {DType::kF32}, {{"n", n}, {"v_heads", v_heads}, {"dv", dv}}));
  if (a.chunk_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("GatedDeltaNet: chunk_size must be >= 0, got ", a.chunk_size));
  }
  const std::pair<const char*, const ConstTensorView*> inputs[] = {
      {"q", &a.q}, {"k", &a.k}, {"v", &a.v}, {"g", &a.g}, {"beta", &a.beta}};
  for (const auto& [name, view] : inputs) {
    TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, name, *view));
    TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "state", a.state, name, *view));
  }
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, "state", a.state));
  return absl::OkStatus();
}

struct Item {
  int64_t seq;
  int64_t head;  // value head
  int64_t tokens;
};

class Runner {
 public:
  Runner(const GatedDeltaNetArgs& a, const isa::KernelTable& kt)
      : a_(a),
        kt_(kt),
        dk_(a.q.dim(2)),
        dv_(a.v.dim(2)),
        ratio_(a.v.dim(1) / a.q.dim(1)),
        chunk_(a.chunk_size) {}

  void Run(const Item& it) {
    const int64_t t0 = I32At(a_.seq_starts, it.seq);
    const int64_t slot = I32At(a_.slots, it.seq);
    float* state = static_cast<float*>(a_.state.At(slot, it.head));
    if (it.tokens == 0) return;
    if (chunk_ > 0 && it.tokens >= chunk_) {
      for (int64_t c0 = 0; c0 < it.tokens; c0 += chunk_) {
        Chunk(t0 + c0, std::min(chunk_, it.tokens - c0), it.head, state);
      }
      return;
    }
    isa::DeltaRuleProblem p;
    p.num_tokens = it.tokens;
    p.dk = dk_;
    p.dv = dv_;
    const int64_t kh = it.head / ratio_;
    p.q = static_cast<const float*>(a_.q.At(t0, kh));
    p.q_stride = a_.q.stride(0);
    p.k = static_cast<const float*>(a_.k.At(t0, kh));
    p.k_stride = a_.k.stride(0);
    p.v = static_cast<const float*>(a_.v.At(t0, it.head));
    p.v_stride = a_.v.stride(0);
    p.g = static_cast<const float*>(a_.g.At(t0, it.head));
    p.g_stride = a_.g.stride(0);
    p.beta = static_cast<const float*>(a_.beta.At(t0, it.head));
    p.beta_stride = a_.beta.stride(0);
    p.state = state;
    p.out = static_cast<float*>(a_.out.At(t0, it.head));
    p.out_stride = a_.out.stride(0);
    kt_.delta_rule(p);
  }

 private:
  void Gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_rs, int64_t a_cs,
            const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
    isa::GemmProblem p;
    p.m = m;
    p.n = n;
    p.k = k;
    p.a = a;
    p.a_rs = a_rs;
    p.a_cs = a_cs;
    p.b = b;
    p.ldb = ldb;
    p.c = c;
    p.ldc = ldc;
    p.accumulate = accumulate;
    kt_.gemm(p, gemm_scratch_);
  }

  // Rows [tc, tc + L) of value head j, updating `s` [dk, dv].
  void Chunk(int64_t tc, int64_t L, int64_t j, float* s) {
    const int64_t dk = dk_, dv = dv_, ldr = dv + dk;
    Reserve(L);
    const int64_t kh = j / ratio_;
    const auto* q = static_cast<const float*>(a_.q.At(tc, kh));
    const auto* k = static_cast<const float*>(a_.k.At(tc, kh));
    const auto* v = static_cast<const float*>(a_.v.At(tc, j));
    const int64_t q_rs = a_.q.stride(0), k_rs = a_.k.stride(0), v_rs = a_.v.stride(0);
    auto* out = static_cast<float*>(a_.out.At(tc, j));
    const int64_t o_rs = a_.out.stride(0);
    float *G = G_.data(), *eG = eG_.data(), *beta = beta_.data(), *Kt = Kt_.data();
    float *A = A_.data(), *P = P_.data(), *R = R_.data(), *Vn = Vn_.data(), *Kd = Kd_.data();

    float acc = 0.0f;
    for (int64_t i = 0; i < L; ++i) {
      acc += *static_cast<const float*>(a_.g.At(tc + i, j));
      G[i] = acc;
      eG[i] = std::exp(acc);
      beta[i] = *static_cast<const float*>(a_.beta.At(tc + i, j));
    }
    for (int64_t i = 0; i < L; ++i) {
      for (int64_t c = 0; c < dk; ++c) Kt[c * L + i] = k[i * k_rs + c];
    }
    // A = strict_lower(diag(β) K Kᵀ ⊙ Γ), P = (Q Kᵀ ⊙ Γ) lower with the diagonal.
    Gemm(L, L, dk, k, k_rs, 1, Kt, L, A, L, false);
    Gemm(L, L, dk, q, q_rs, 1, Kt, L, P, L, false);
    for (int64_t i = 0; i < L; ++i) {
      for (int64_t jj = 0; jj < L; ++jj) {
        const float decay = jj <= i ? std::exp(G[i] - G[jj]) : 0.0f;
        A[i * L + jj] = jj < i ? beta[i] * A[i * L + jj] * decay : 0.0f;
        P[i * L + jj] *= decay;
      }
    }
    // R = [βV | β e^G K], then forward substitution with the unit lower-triangular I + A.
    for (int64_t i = 0; i < L; ++i) {
      float* r = R + i * ldr;
      for (int64_t c = 0; c < dv; ++c) r[c] = beta[i] * v[i * v_rs + c];
      const float bk = beta[i] * eG[i];
      for (int64_t c = 0; c < dk; ++c) r[dv + c] = bk * k[i * k_rs + c];
      for (int64_t jj = 0; jj < i; ++jj) {
        const float aij = A[i * L + jj];
        if (aij != 0.0f) kt_.axpy(-aij, R + jj * ldr, r, ldr);
      }
    }
    // V' = U − W S.
    Gemm(L, dv, dk, R + dv, ldr, 1, s, dv, Vn, dv, false);
    for (int64_t i = 0; i < L; ++i) {
      for (int64_t c = 0; c < dv; ++c) Vn[i * dv + c] = R[i * ldr + c] - Vn[i * dv + c];
    }
    // O = diag(e^G) Q S + P V'.
    Gemm(L, dv, dk, q, q_rs, 1, s, dv, out, o_rs, false);
    for (int64_t i = 0; i < L; ++i) kt_.scale(eG[i], out + i * o_rs, dv);
    Gemm(L, dv, L, P, L, 1, Vn, dv, out, o_rs, true);
    // S ← e^{G_last} S + (diag(e^{G_last − G}) K)ᵀ V'.
    const float g_last = G[L - 1];
    for (int64_t i = 0; i < L; ++i) {
      const float f = std::exp(g_last - G[i]);
      for (int64_t c = 0; c < dk; ++c) Kd[i * dk + c] = f * k[i * k_rs + c];
    }
    kt_.scale(std::exp(g_last), s, dk * dv);
    Gemm(dk, dv, L, Kd, 1, dk, Vn, dv, s, dv, true);
  }

  void Reserve(int64_t L) {
    const auto sz = [](int64_t x) { return static_cast<size_t>(x); };
    G_.resize(sz(L));
    eG_.resize(sz(L));
    beta_.resize(sz(L));
    Kt_.resize(sz(dk_ * L));
    A_.resize(sz(L * L));
    P_.resize(sz(L * L));
    R_.resize(sz(L * (dv_ + dk_)));
    Vn_.resize(sz(L * dv_));
    Kd_.resize(sz(L * dk_));
    if (gemm_scratch_ == nullptr) gemm_scratch_ = ThreadScratch(kt_.gemm_scratch_floats);
  }

  const GatedDeltaNetArgs& a_;
  const isa::KernelTable& kt_;
  const int64_t dk_, dv_, ratio_, chunk_;
  std::vector<float> G_, eG_, beta_, Kt_, A_, P_, R_, Vn_, Kd_;
  float* gemm_scratch_ = nullptr;
};

}  // namespace

absl::Status GatedDeltaNet(ThreadPool& pool, const GatedDeltaNetArgs& args) {
  TPS_RETURN_IF_ERROR(Validate(args));
  const int64_t num_seqs = args.seq_starts.dim(0) - 1;
  const int64_t v_heads = args.v.dim(1);
  std::vector<Item> items;
  for (int64_t s = 0; s < num_seqs; ++s) {
    const int64_t ns = I32At(args.seq_starts, s + 1) - I32At(args.seq_starts, s);
    if (ns == 0) continue;
    for (int64_t h = 0; h < v_heads; ++h) items.push_back({s, h, ns});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& x, const Item& y) { return x.tokens > y.tokens; });
  const isa::KernelTable& kt = Kernels();
  ParallelForDynamic(pool, static_cast<int64_t>(items.size()), [&] {
    return [&, runner = std::make_shared<Runner>(args, kt)](int64_t i) {
      runner->Run(items[static_cast<size_t>(i)]);
    };
  });
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
