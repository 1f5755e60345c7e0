// L2Norm (HF's l2norm): y = x · rsqrt(Σx² + eps) · scale, in f32.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/dispatch_internal.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {

absl::Status L2Norm(ThreadPool& pool, const L2NormArgs& args) {
  constexpr std::string_view kOp = "L2Norm";
  if (args.x.rank() == 3) {
    TPS_RETURN_IF_ERROR(CheckTensor(kOp, "x", args.x, {DType::kF32},
                                    {{"a", kAnyDim}, {"b", kAnyDim}, {"dim", kAnyDim}}));
    TPS_RETURN_IF_ERROR(
        CheckTensor(kOp, "out", args.out, {DType::kF32},
                    {{"a", args.x.dim(0)}, {"b", args.x.dim(1)}, {"dim", args.x.dim(2)}}));
  } else {
    TPS_RETURN_IF_ERROR(
        CheckTensor(kOp, "x", args.x, {DType::kF32}, {{"a", kAnyDim}, {"dim", kAnyDim}}));
    TPS_RETURN_IF_ERROR(CheckTensor(kOp, "out", args.out, {DType::kF32},
                                    {{"a", args.x.dim(0)}, {"dim", args.x.dim(1)}}));
  }
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(kOp, "out", args.out, "x", args.x));
  if (!(args.eps >= 0.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("L2Norm: eps must be >= 0, got ", args.eps));
  }
  const int64_t dim = args.x.dim(args.x.rank() - 1);
  const isa::KernelTable& kt = Kernels();
  pool.ParallelFor(
      NumRows(args.x),
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* x = RowPtr(args.x, r);
          float* y = RowPtr(args.out, r);
          const float inv = 1.0f / std::sqrt(kt.dot(x, x, dim) + args.eps);
          for (int64_t c = 0; c < dim; ++c) y[c] = x[c] * inv * args.scale;
        }
      },
      GrainFor(dim));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
