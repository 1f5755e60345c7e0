// GatedDeltaNet: the gated delta rule per (sequence, value head), token by token (ISA kernel) or in
// chunks (spec §3.5 step 8) for sequences with at least chunk_size tokens.
//
// Chunked form, per chunk of L ≤ C rows with G = cumsum(g), Γ[i,j] = exp(G_i − G_j):
//   A = strict_lower(diag(β) K Kᵀ ⊙ Γ);  [U | W] = (I + A)⁻¹ [diag(β) V | diag(β e^G) K]
//   V' = U − W S;  O = diag(e^G) Q S + (Q Kᵀ ⊙ Γ)_lower V'
//   S ← e^{G_last} S + (diag(e^{G_last − G}) K)ᵀ V'
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
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "v", a.v, {DType::kF32}, {{"n", n}, {"v_heads", kAnyDim}, {"dv", kAnyDim}}));
  const int64_t v_heads = a.v.dim(1), dv = a.v.dim(2);
  if (k_heads <= 0 || v_heads % k_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("GatedDeltaNet: v_heads (", v_heads, ") must be a multiple of k_heads (",
                     k_heads, "); q ", DescribeView(a.q), ", v ", DescribeView(a.v)));
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

  // Rows [tc, tc + len) of value head j, updating `s` [dk, dv].
  void Chunk(int64_t tc, int64_t len, int64_t j, float* s) {
    const int64_t dk = dk_, dv = dv_, ldr = dv + dk;
    Reserve(len);
    const int64_t kh = j / ratio_;
    const auto* q = static_cast<const float*>(a_.q.At(tc, kh));
    const auto* k = static_cast<const float*>(a_.k.At(tc, kh));
    const auto* v = static_cast<const float*>(a_.v.At(tc, j));
    const int64_t q_rs = a_.q.stride(0), k_rs = a_.k.stride(0), v_rs = a_.v.stride(0);
    auto* out = static_cast<float*>(a_.out.At(tc, j));
    const int64_t o_rs = a_.out.stride(0);
    float *cum = cum_.data(), *exp_cum = exp_cum_.data(), *beta = beta_.data(),
          *k_trans = k_trans_.data();
    float *a_mat = a_mat_.data(), *p_mat = p_mat_.data(), *rhs = rhs_.data(),
          *v_new = v_new_.data(), *k_decay = k_decay_.data();

    float acc = 0.0f;
    for (int64_t i = 0; i < len; ++i) {
      acc += *static_cast<const float*>(a_.g.At(tc + i, j));
      cum[i] = acc;
      exp_cum[i] = std::exp(acc);
      beta[i] = *static_cast<const float*>(a_.beta.At(tc + i, j));
    }
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t c = 0; c < dk; ++c) k_trans[c * len + i] = k[i * k_rs + c];
    }
    // a_mat = strict_lower(diag(β) K Kᵀ ⊙ Γ), p_mat = (Q Kᵀ ⊙ Γ) lower with the diagonal.
    Gemm(len, len, dk, k, k_rs, 1, k_trans, len, a_mat, len, false);
    Gemm(len, len, dk, q, q_rs, 1, k_trans, len, p_mat, len, false);
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t jj = 0; jj < len; ++jj) {
        const float decay = jj <= i ? std::exp(cum[i] - cum[jj]) : 0.0f;
        a_mat[i * len + jj] = jj < i ? beta[i] * a_mat[i * len + jj] * decay : 0.0f;
        p_mat[i * len + jj] *= decay;
      }
    }
    // rhs = [βV | β e^cum K], then forward substitution with the unit lower-triangular I + a_mat.
    for (int64_t i = 0; i < len; ++i) {
      float* r = rhs + i * ldr;
      for (int64_t c = 0; c < dv; ++c) r[c] = beta[i] * v[i * v_rs + c];
      const float bk = beta[i] * exp_cum[i];
      for (int64_t c = 0; c < dk; ++c) r[dv + c] = bk * k[i * k_rs + c];
      for (int64_t jj = 0; jj < i; ++jj) {
        const float aij = a_mat[i * len + jj];
        if (aij != 0.0f) kt_.axpy(-aij, rhs + jj * ldr, r, ldr);
      }
    }
    // V' = U − W S.
    Gemm(len, dv, dk, rhs + dv, ldr, 1, s, dv, v_new, dv, false);
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t c = 0; c < dv; ++c) v_new[i * dv + c] = rhs[i * ldr + c] - v_new[i * dv + c];
    }
    // O = diag(e^cum) Q S + p_mat V'.
    Gemm(len, dv, dk, q, q_rs, 1, s, dv, out, o_rs, false);
    for (int64_t i = 0; i < len; ++i) kt_.scale(exp_cum[i], out + i * o_rs, dv);
    Gemm(len, dv, len, p_mat, len, 1, v_new, dv, out, o_rs, true);
    // S ← e^{G_last} S + (diag(e^{G_last − cum}) K)ᵀ V'.
    const float g_last = cum[len - 1];
    for (int64_t i = 0; i < len; ++i) {
      const float f = std::exp(g_last - cum[i]);
      for (int64_t c = 0; c < dk; ++c) k_decay[i * dk + c] = f * k[i * k_rs + c];
    }
    kt_.scale(std::exp(g_last), s, dk * dv);
    Gemm(dk, dv, len, k_decay, 1, dk, v_new, dv, s, dv, true);
  }

  void Reserve(int64_t len) {
    const auto sz = [](int64_t x) { return static_cast<size_t>(x); };
    cum_.resize(sz(len));
    exp_cum_.resize(sz(len));
    beta_.resize(sz(len));
    k_trans_.resize(sz(dk_ * len));
    a_mat_.resize(sz(len * len));
    p_mat_.resize(sz(len * len));
    rhs_.resize(sz(len * (dv_ + dk_)));
    v_new_.resize(sz(len * dv_));
    k_decay_.resize(sz(len * dk_));
    if (gemm_scratch_ == nullptr) gemm_scratch_ = ThreadScratch(kt_.gemm_scratch_floats);
  }

  const GatedDeltaNetArgs& a_;
  const isa::KernelTable& kt_;
  const int64_t dk_, dv_, ratio_, chunk_;
  std::vector<float> cum_, exp_cum_, beta_, k_trans_, a_mat_, p_mat_, rhs_, v_new_, k_decay_;
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
