// GatedRmsNorm (the delta net's output norm, HF order): y = w · (x · rsqrt(mean(x²) + eps)) ·
// silu(z).
#include <cmath>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/dispatch_internal.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {

absl::Status GatedRmsNorm(ThreadPool& pool, const GatedRmsNormArgs& args) {
  constexpr std::string_view kOp = "GatedRmsNorm";
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "x", args.x, {DType::kF32},
                                  {{"n", kAnyDim}, {"heads", kAnyDim}, {"dim", kAnyDim}}));
  const int64_t n = args.x.dim(0), heads = args.x.dim(1), dim = args.x.dim(2);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "z", args.z, {DType::kF32}, {{"n", n}, {"heads", heads}, {"dim", dim}}));
  TPS_RETURN_IF_ERROR(CheckContiguousTensor(kOp, "weight", args.weight, {DType::kF32, DType::kBF16},
                                            {{"dim", dim}}));
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "out", args.out, {DType::kF32}, {{"n", n}, {"heads", heads}, {"dim", dim}}));
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(kOp, "out", args.out, "x", args.x));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "z", args.z));
  if (!(args.eps >= 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("GatedRmsNorm: eps must be >= 0, got ", args.eps));
  }
  const isa::KernelTable& kt = Kernels();
  pool.ParallelFor(
      n * heads,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* x = RowPtr(args.x, r);
          const float* z = RowPtr(args.z, r);
          float* y = RowPtr(args.out, r);
          const float inv =
              1.0f / std::sqrt(kt.dot(x, x, dim) / static_cast<float>(dim) + args.eps);
          for (int64_t c = 0; c < dim; ++c) {
            y[c] = (LoadAsF32(args.weight, c) * (x[c] * inv)) * Silu(z[c]);
          }
        }
      },
      GrainFor(dim));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
