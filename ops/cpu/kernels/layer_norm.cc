// LayerNorm (PyTorch nn.LayerNorm with weight and bias): y = (x − mean) · rstd · w + b in f32. The
// row moments are accumulated in f64, so the only f32 roundings are the ones PyTorch also makes.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {

absl::Status LayerNorm(ThreadPool& pool, const LayerNormArgs& args) {
  constexpr std::string_view kOp = "LayerNorm";
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "x", args.x, {DType::kF32}, {{"n", kAnyDim}, {"dim", kAnyDim}}));
  const int64_t n = args.x.dim(0), dim = args.x.dim(1);
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "out", args.out, {DType::kF32}, {{"n", n}, {"dim", dim}}));
  TPS_RETURN_IF_ERROR(CheckContiguousTensor(kOp, "weight", args.weight, {DType::kF32, DType::kBF16},
                                            {{"dim", dim}}));
  TPS_RETURN_IF_ERROR(
      CheckContiguousTensor(kOp, "bias", args.bias, {DType::kF32, DType::kBF16}, {{"dim", dim}}));
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(kOp, "out", args.out, "x", args.x));
  if (!(args.eps >= 0.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("LayerNorm: eps must be >= 0, got ", args.eps));
  }
  if (dim == 0) return absl::OkStatus();
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* x = RowPtr(args.x, r);
          float* y = RowPtr(args.out, r);
          double sum = 0.0;
          for (int64_t c = 0; c < dim; ++c) sum += x[c];
          const double mean = sum / static_cast<double>(dim);
          double sq = 0.0;
          for (int64_t c = 0; c < dim; ++c) {
            const double d = x[c] - mean;
            sq += d * d;
          }
          const float rstd =
              static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(dim) + args.eps));
          const float m = static_cast<float>(mean);
          for (int64_t c = 0; c < dim; ++c) {
            y[c] = (x[c] - m) * rstd * LoadAsF32(args.weight, c) + LoadAsF32(args.bias, c);
          }
        }
      },
      GrainFor(dim));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
