// SegmentAttention: bidirectional attention within contiguous segments (op_args.h), the ViT's
// per-image attention. Work items are (segment, head, block of up to kQueryBlock query rows); an
// item transposes its segment's keys once, then per block of kKeyBlock keys computes the scores as
// one GEMM (Q · Kᵀ), updates an online softmax (running max and sum per row) and accumulates P · V
// with a second GEMM, so the cost is the two matrix products and never an n × n score matrix.
#include <algorithm>
#include <cmath>
#include <limits>
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

constexpr std::string_view kOp = "SegmentAttention";
constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 256;

absl::Status Validate(const SegmentAttentionArgs& a) {
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "q", a.q, {DType::kF32},
                                  {{"n", kAnyDim}, {"heads", kAnyDim}, {"head_dim", kAnyDim}}));
  const int64_t n = a.q.dim(0), heads = a.q.dim(1), d = a.q.dim(2);
  const std::initializer_list<Dim> dims = {{"n", n}, {"heads", heads}, {"head_dim", d}};
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "k", a.k, {DType::kF32}, dims));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "v", a.v, {DType::kF32}, dims));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "out", a.out, {DType::kF32}, dims));
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "seq_starts", a.seq_starts, {DType::kI32}, {{"num_segments+1", kAnyDim}}));
  TPS_RETURN_IF_ERROR(CheckSeqStarts(kOp, a.seq_starts, n));
  if (!std::isfinite(a.scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SegmentAttention: scale must be finite, got ", a.scale));
  }
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, "q", a.q));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, "k", a.k));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, "v", a.v));
  return absl::OkStatus();
}

struct Item {
  int64_t begin;  // first token of the segment
  int64_t end;    // one past its last token
  int64_t head;
  int64_t q0;  // query rows [q0, q1) (absolute)
  int64_t q1;
};

class Runner {
 public:
  Runner(const SegmentAttentionArgs& a, const isa::KernelTable& kt)
      : a_(a), kt_(kt), d_(a.q.dim(2)) {}

  void Run(const Item& it) {
    const int64_t len = it.end - it.begin, nq = it.q1 - it.q0;
    if (gemm_scratch_ == nullptr) gemm_scratch_ = ThreadScratch(kt_.gemm_scratch_floats);
    if (it.begin != kt_begin_ || it.head != kt_head_) {
      // Kᵀ of the whole segment for this head: [d, len].
      kt_buf_.resize(static_cast<size_t>(d_ * len));
      for (int64_t j = 0; j < len; ++j) {
        const float* k = static_cast<const float*>(a_.k.At(it.begin + j, it.head));
        for (int64_t c = 0; c < d_; ++c) kt_buf_[static_cast<size_t>(c * len + j)] = k[c];
      }
      kt_begin_ = it.begin;
      kt_head_ = it.head;
    }
    o_.assign(static_cast<size_t>(nq * d_), 0.0f);
    m_.assign(static_cast<size_t>(nq), -std::numeric_limits<float>::infinity());
    l_.assign(static_cast<size_t>(nq), 0.0f);
    scores_.resize(static_cast<size_t>(nq * kKeyBlock));
    const float* q = static_cast<const float*>(a_.q.At(it.q0, it.head));
    for (int64_t j0 = 0; j0 < len; j0 += kKeyBlock) {
      const int64_t nk = std::min(kKeyBlock, len - j0);
      isa::GemmProblem s;
      s.m = nq;
      s.n = nk;
      s.k = d_;
      s.a = q;
      s.a_rs = a_.q.stride(0);
      s.a_cs = 1;
      s.b = kt_buf_.data() + j0;
      s.ldb = len;
      s.c = scores_.data();
      s.ldc = nk;
      kt_.gemm(s, gemm_scratch_);
      for (int64_t i = 0; i < nq; ++i) UpdateRow(scores_.data() + i * nk, nk, i);
      isa::GemmProblem pv;
      pv.m = nq;
      pv.n = d_;
      pv.k = nk;
      pv.a = scores_.data();
      pv.a_rs = nk;
      pv.a_cs = 1;
      pv.b = static_cast<const float*>(a_.v.At(it.begin + j0, it.head));
      pv.ldb = a_.v.stride(0);
      pv.c = o_.data();
      pv.ldc = d_;
      pv.accumulate = true;
      kt_.gemm(pv, gemm_scratch_);
    }
    for (int64_t i = 0; i < nq; ++i) {
      const float inv = 1.0f / l_[static_cast<size_t>(i)];
      const float* o = o_.data() + i * d_;
      float* out = static_cast<float*>(a_.out.At(it.q0 + i, it.head));
      for (int64_t c = 0; c < d_; ++c) out[c] = o[c] * inv;
    }
  }

 private:
  // Scales row i's raw dot products, then turns them into probabilities relative to the new
  // running max, rescaling the row's output and sum when the max moves.
  void UpdateRow(float* row, int64_t nk, int64_t i) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < nk; ++j) {
      row[j] *= a_.scale;
      mx = std::max(mx, row[j]);
    }
    OnlineSoftmaxBlock(kt_, row, nk, mx, m_[static_cast<size_t>(i)], l_[static_cast<size_t>(i)],
                       o_.data() + i * d_, d_);
  }

  const SegmentAttentionArgs& a_;
  const isa::KernelTable& kt_;
  const int64_t d_;
  int64_t kt_begin_ = -1;
  int64_t kt_head_ = -1;
  std::vector<float> kt_buf_;  // [d, segment length]
  std::vector<float> o_;       // [kQueryBlock, d]
  std::vector<float> m_;       // [kQueryBlock] running max
  std::vector<float> l_;       // [kQueryBlock] running sum
  std::vector<float> scores_;  // [kQueryBlock, kKeyBlock]
  float* gemm_scratch_ = nullptr;
};

}  // namespace

absl::Status SegmentAttention(ThreadPool& pool, const SegmentAttentionArgs& args) {
  TPS_RETURN_IF_ERROR(Validate(args));
  const int64_t num_segments = args.seq_starts.dim(0) - 1;
  const int64_t heads = args.q.dim(1);
  if (args.q.dim(0) == 0 || args.q.dim(2) == 0) return absl::OkStatus();
  // Items in (segment, head, query block) order: a thread taking consecutive items reuses the
  // transposed keys of its (segment, head).
  std::vector<Item> items;
  for (int64_t s = 0; s < num_segments; ++s) {
    const int64_t b = I32At(args.seq_starts, s), e = I32At(args.seq_starts, s + 1);
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t q0 = b; q0 < e; q0 += kQueryBlock) {
        items.push_back({b, e, h, q0, std::min(e, q0 + kQueryBlock)});
      }
    }
  }
  const isa::KernelTable& kt = Kernels();
  ParallelForDynamic(pool, static_cast<int64_t>(items.size()), [&] {
    return [&, runner = std::make_shared<Runner>(args, kt)](int64_t i) {
      runner->Run(items[static_cast<size_t>(i)]);
    };
  });
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
