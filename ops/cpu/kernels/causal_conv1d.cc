// CausalConv1d: depthwise causal conv over time with a carried state of the last kernel-1 raw
// inputs per slot (the delta net's conv1d, spec §3.5 step 2).
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

// Channels per work item: enough to amortise the per-item setup, small enough to spread decode
// steps (one token, a few sequences) over the pool.
constexpr int64_t kChannelBlock = 128;

}  // namespace

absl::Status CausalConv1d(ThreadPool& pool, const CausalConv1dArgs& args) {
  constexpr std::string_view kOp = "CausalConv1d";
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "x", args.x, {DType::kF32}, {{"n", kAnyDim}, {"channels", kAnyDim}}));
  const int64_t n = args.x.dim(0), channels = args.x.dim(1);
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "weight", args.weight, {DType::kF32, DType::kBF16},
                                  {{"channels", channels}, {"kernel", kAnyDim}}));
  const int64_t kernel = args.weight.dim(1);
  if (kernel < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CausalConv1d: weight must have kernel >= 1 taps, got ", DescribeView(args.weight)));
  }
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "state", args.state, {DType::kF32},
                  {{"max_slots", kAnyDim}, {"kernel-1", kernel - 1}, {"channels", channels}}));
  const int64_t max_slots = args.state.dim(0);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "seq_starts", args.seq_starts, {DType::kI32}, {{"num_seqs+1", kAnyDim}}));
  TPS_RETURN_IF_ERROR(CheckSeqStarts(kOp, args.seq_starts, n));
  const int64_t num_seqs = args.seq_starts.dim(0) - 1;
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "slots", args.slots, {DType::kI32}, {{"num_seqs", num_seqs}}));
  TPS_RETURN_IF_ERROR(CheckSlots(kOp, args.slots, num_seqs, max_slots));
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "out", args.out, {DType::kF32}, {{"n", n}, {"channels", channels}}));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "x", args.x));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "state", args.state));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "state", args.state, "x", args.x));

  const int64_t hist = kernel - 1;
  const int64_t blocks = (channels + kChannelBlock - 1) / kChannelBlock;
  pool.ParallelFor(
      num_seqs * blocks,
      [&](int64_t begin, int64_t end) {
        std::vector<float> w(static_cast<size_t>(kChannelBlock * kernel));
        std::vector<float> ext;  // [hist + n_s, cb]: the state rows, then the raw inputs
        for (int64_t item = begin; item < end; ++item) {
          const int64_t s = item / blocks;
          const int64_t c0 = (item % blocks) * kChannelBlock;
          const int64_t cb = std::min(kChannelBlock, channels - c0);
          const int64_t t0 = I32At(args.seq_starts, s), ns = I32At(args.seq_starts, s + 1) - t0;
          const int64_t slot = I32At(args.slots, s);
          for (int64_t c = 0; c < cb; ++c) {
            const void* wrow = args.weight.At(c0 + c);
            for (int64_t j = 0; j < kernel; ++j) {
              w[static_cast<size_t>(c * kernel + j)] =
                  args.weight.dtype == DType::kBF16
                      ? Bf16ToF32(static_cast<const uint16_t*>(wrow)[j])
                      : static_cast<const float*>(wrow)[j];
            }
          }
          ext.resize(static_cast<size_t>((hist + ns) * cb));
          for (int64_t r = 0; r < hist; ++r) {
            const auto* src = static_cast<const float*>(args.state.At(slot, r, c0));
            std::copy(src, src + cb, ext.begin() + r * cb);
          }
          for (int64_t t = 0; t < ns; ++t) {
            const auto* src = static_cast<const float*>(args.x.At(t0 + t, c0));
            std::copy(src, src + cb, ext.begin() + (hist + t) * cb);
          }
          for (int64_t t = 0; t < ns; ++t) {
            float* out = static_cast<float*>(args.out.At(t0 + t, c0));
            for (int64_t c = 0; c < cb; ++c) {
              float acc = 0.0f;
              for (int64_t j = 0; j < kernel; ++j) {
                acc += w[static_cast<size_t>(c * kernel + j)] *
                       ext[static_cast<size_t>((t + j) * cb + c)];
              }
              out[c] = args.silu ? Silu(acc) : acc;
            }
          }
          // The new state: the last `hist` rows of ext.
          for (int64_t r = 0; r < hist; ++r) {
            auto* dst = static_cast<float*>(args.state.At(slot, r, c0));
            const auto first = ext.begin() + (ns + r) * cb;
            std::copy(first, first + cb, dst);
          }
        }
      },
      GrainFor(std::max<int64_t>(1, n / std::max<int64_t>(1, num_seqs)) * kChannelBlock * kernel));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
