// Attention over the paged KV cache: GQA, causal or not, online softmax in f32.
//
// Work items are (sequence, kv head, block of up to kQueryBlock query tokens); an item runs every
// query head of its kv head's group, so each cache block is read once per item and reused from L1
// by the whole group. Per cache block: scores (ISA kernel), the online-softmax update here, then
// o += p·V (ISA kernel).
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

constexpr std::string_view kOp = "Attention";
constexpr int64_t kQueryBlock = 8;

int64_t BlockTableAt(const ConstTensorView& bt, int64_t s, int64_t b) {
  return static_cast<const int32_t*>(bt.data)[s * bt.stride(0) + b];
}

absl::Status Validate(const AttentionArgs& a) {
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "q", a.q, {DType::kF32},
                                  {{"n", kAnyDim}, {"heads", kAnyDim}, {"head_dim", kAnyDim}}));
  const int64_t n = a.q.dim(0), heads = a.q.dim(1), d = a.q.dim(2);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "k_cache", a.k_cache, {DType::kF32, DType::kBF16},
                  {{"num_blocks*block_size", kAnyDim}, {"kv_heads", kAnyDim}, {"head_dim", d}}));
  const int64_t rows = a.k_cache.dim(0), kv_heads = a.k_cache.dim(1);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "v_cache", a.v_cache, {DType::kF32, DType::kBF16},
                  {{"num_blocks*block_size", rows}, {"kv_heads", kv_heads}, {"head_dim", d}}));
  if (a.block_size <= 0 || rows % a.block_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Attention: block_size must be > 0 and divide the cache rows (", rows,
                     "), got ", a.block_size));
  }
  if (kv_heads <= 0 || heads % kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Attention: q heads (", heads, ") must be a multiple of the cache's kv_heads (", kv_heads,
        "); q ", DescribeView(a.q), ", k_cache ", DescribeView(a.k_cache)));
  }
  if (!std::isfinite(a.scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Attention: scale must be finite, got ", a.scale));
  }
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "seq_starts", a.seq_starts, {DType::kI32}, {{"num_seqs+1", kAnyDim}}));
  TPS_RETURN_IF_ERROR(CheckSeqStarts(kOp, a.seq_starts, n));
  const int64_t num_seqs = a.seq_starts.dim(0) - 1;
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "context_lens", a.context_lens, {DType::kI32}, {{"num_seqs", num_seqs}}));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "block_tables", a.block_tables, {DType::kI32},
                                  {{"num_seqs", num_seqs}, {"max_blocks_per_seq", kAnyDim}}));
  const int64_t max_blocks = a.block_tables.dim(1), num_blocks = rows / a.block_size;
  for (int64_t s = 0; s < num_seqs; ++s) {
    const int64_t ns = I32At(a.seq_starts, s + 1) - I32At(a.seq_starts, s);
    const int64_t ctx = I32At(a.context_lens, s);
    if (ctx < ns || ctx > max_blocks * a.block_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Attention: context_lens[", s, "]=", ctx, " must be at least the sequence's ", ns,
          " query tokens and at most max_blocks_per_seq * block_size = ",
          max_blocks * a.block_size));
    }
    for (int64_t b = 0; b * a.block_size < ctx; ++b) {
      const int64_t phys = BlockTableAt(a.block_tables, s, b);
      if (phys < 0 || phys >= num_blocks) {
        return absl::InvalidArgumentError(
            absl::StrCat("Attention: block_tables[", s, ", ", b, "]=", phys,
                         " is outside [0, num_blocks=", num_blocks, ")"));
      }
    }
  }
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "out", a.out, {DType::kF32}, {{"n", n}, {"heads", heads}, {"head_dim", d}}));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, "q", a.q));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, "k_cache", a.k_cache));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", a.out, "v_cache", a.v_cache));
  return absl::OkStatus();
}

// One work item: every head of kv head `kvh`'s group for query tokens [i0, i1) of sequence s.
struct Item {
  int64_t seq;
  int64_t kvh;
  int64_t i0;
  int64_t i1;
  int64_t keys;  // cache rows it reads (its cost)
};

class Runner {
 public:
  Runner(const AttentionArgs& a, const isa::KernelTable& kt)
      : a_(a),
        kt_(kt),
        d_(a.q.dim(2)),
        group_(a.q.dim(1) / a.k_cache.dim(1)),
        ktype_(ElemTypeOf(a.k_cache.dtype)),
        vtype_(ElemTypeOf(a.v_cache.dtype)) {}

  void Run(const Item& it) {
    const int64_t bs = a_.block_size;
    const int64_t t0 = I32At(a_.seq_starts, it.seq);
    const int64_t ns = I32At(a_.seq_starts, it.seq + 1) - t0;
    const int64_t ctx = I32At(a_.context_lens, it.seq);
    const int64_t offset = ctx - ns;  // cache index of the chunk's first query token
    const int64_t nq = it.i1 - it.i0;
    const int64_t key_end = it.keys;
    o_.assign(static_cast<size_t>(group_ * kQueryBlock * d_), 0.0f);
    m_.assign(static_cast<size_t>(group_ * kQueryBlock), -std::numeric_limits<float>::infinity());
    l_.assign(static_cast<size_t>(group_ * kQueryBlock), 0.0f);
    scores_.resize(static_cast<size_t>(std::max(kQueryBlock, group_) * bs));
    for (int64_t j0 = 0; j0 < key_end; j0 += bs) {
      const int64_t row0 = BlockTableAt(a_.block_tables, it.seq, j0 / bs) * bs;
      const int64_t nk = std::min(bs, key_end - j0);
      const void* kb = a_.k_cache.At(row0, it.kvh);
      const void* vb = a_.v_cache.At(row0, it.kvh);
      if (j0 + bs < key_end) {
        // Pages are scattered, so the hardware prefetchers cannot guess the next block.
        const int64_t next = BlockTableAt(a_.block_tables, it.seq, j0 / bs + 1) * bs;
        const int64_t next_nk = std::min(bs, key_end - j0 - bs);
        Prefetch(a_.k_cache, next, it.kvh, next_nk);
        Prefetch(a_.v_cache, next, it.kvh, next_nk);
      }
      if (nq == 1) {
        // One query token (decode): the group's heads are rows with q stride stride(1), so
        // every cache row loaded serves all of them.
        const int64_t last = a_.causal ? offset + it.i0 : ctx - 1;
        float* scores = scores_.data();
        kt_.attn_scores(static_cast<const float*>(a_.q.At(t0 + it.i0, it.kvh * group_)), group_,
                        a_.q.stride(1), kb, ktype_, a_.k_cache.stride(0), nk, d_, a_.scale, scores);
        for (int64_t g = 0; g < group_; ++g) {
          UpdateRow(scores + g * nk, nk, std::min(nk, last - j0 + 1), g * kQueryBlock);
        }
        kt_.attn_accumulate(scores, group_, vb, vtype_, a_.v_cache.stride(0), nk, d_, o_.data(),
                            kQueryBlock * d_);
        continue;
      }
      for (int64_t g = 0; g < group_; ++g) {
        const int64_t h = it.kvh * group_ + g;
        float* scores = scores_.data();
        kt_.attn_scores(static_cast<const float*>(a_.q.At(t0 + it.i0, h)), nq, a_.q.stride(0), kb,
                        ktype_, a_.k_cache.stride(0), nk, d_, a_.scale, scores);
        for (int64_t i = 0; i < nq; ++i) {
          const int64_t last = a_.causal ? offset + it.i0 + i : ctx - 1;  // last visible key
          const int64_t valid = std::min(nk, last - j0 + 1);
          UpdateRow(scores + i * nk, nk, valid, (g * kQueryBlock + i));
        }
        kt_.attn_accumulate(scores, nq, vb, vtype_, a_.v_cache.stride(0), nk, d_,
                            o_.data() + g * kQueryBlock * d_, d_);
      }
    }
    for (int64_t g = 0; g < group_; ++g) {
      for (int64_t i = 0; i < nq; ++i) {
        const int64_t r = g * kQueryBlock + i;
        const float inv = 1.0f / l_[static_cast<size_t>(r)];
        const float* o = o_.data() + r * d_;
        float* out = static_cast<float*>(a_.out.At(t0 + it.i0 + i, it.kvh * group_ + g));
        for (int64_t c = 0; c < d_; ++c) out[c] = o[c] * inv;
      }
    }
  }

 private:
  // Prefetches the head slices of `rows` cache rows starting at `row0`.
  void Prefetch(const ConstTensorView& cache, int64_t row0, int64_t head, int64_t rows) const {
    const int64_t bytes = d_ * static_cast<int64_t>(cache.element_size());
    for (int64_t r = 0; r < rows; ++r) {
      const char* p = static_cast<const char*>(cache.At(row0 + r, head));
      for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
    }
  }

  // Online softmax for one query row over one cache block: scores [0, valid) are visible; turns
  // the row into probabilities relative to the new running max and rescales o, l.
  void UpdateRow(float* row, int64_t nk, int64_t valid, int64_t r) {
    if (valid <= 0) {
      std::fill(row, row + nk, 0.0f);
      return;
    }
    float mx = row[0];
    for (int64_t j = 1; j < valid; ++j) mx = std::max(mx, row[j]);
    OnlineSoftmaxBlock(kt_, row, valid, mx, m_[static_cast<size_t>(r)], l_[static_cast<size_t>(r)],
                       o_.data() + r * d_, d_);
    std::fill(row + valid, row + nk, 0.0f);
  }

  const AttentionArgs& a_;
  const isa::KernelTable& kt_;
  const int64_t d_;
  const int64_t group_;
  const isa::ElemType ktype_;
  const isa::ElemType vtype_;
  std::vector<float> o_;       // [group, kQueryBlock, d]
  std::vector<float> m_;       // [group, kQueryBlock] running max
  std::vector<float> l_;       // [group, kQueryBlock] running sum
  std::vector<float> scores_;  // [kQueryBlock, block_size]
};

}  // namespace

absl::Status Attention(ThreadPool& pool, const AttentionArgs& args) {
  TPS_RETURN_IF_ERROR(Validate(args));
  const int64_t num_seqs = args.seq_starts.dim(0) - 1;
  const int64_t kv_heads = args.k_cache.dim(1);
  std::vector<Item> items;
  for (int64_t s = 0; s < num_seqs; ++s) {
    const int64_t ns = I32At(args.seq_starts, s + 1) - I32At(args.seq_starts, s);
    const int64_t ctx = I32At(args.context_lens, s);
    for (int64_t i0 = 0; i0 < ns; i0 += kQueryBlock) {
      const int64_t i1 = std::min(ns, i0 + kQueryBlock);
      const int64_t keys = args.causal ? ctx - ns + i1 : ctx;
      for (int64_t h = 0; h < kv_heads; ++h) items.push_back({s, h, i0, i1, keys});
    }
  }
  // Costliest first (causal: later query blocks see more keys) for the dynamic schedule.
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& x, const Item& y) { return x.keys > y.keys; });
  const isa::KernelTable& kt = Kernels();
  ParallelForDynamic(pool, static_cast<int64_t>(items.size()), [&] {
    return [&, runner = std::make_shared<Runner>(args, kt)](int64_t i) {
      runner->Run(items[static_cast<size_t>(i)]);
    };
  });
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
