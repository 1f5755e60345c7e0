// Row softmax in f32: out = exp(x·scale − max) / Σ.
#include <cmath>
#include <limits>

#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {

absl::Status Softmax(ThreadPool& pool, const SoftmaxArgs& args) {
  constexpr std::string_view kOp = "Softmax";
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "x", args.x, {DType::kF32}, {{"n", kAnyDim}, {"d", kAnyDim}}));
  const int64_t n = args.x.dim(0), d = args.x.dim(1);
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "out", args.out, {DType::kF32}, {{"n", n}, {"d", d}}));
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(kOp, "out", args.out, "x", args.x));
  const float scale = args.scale;
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* x = RowPtr(args.x, r);
          float* y = RowPtr(args.out, r);
          float mx = -std::numeric_limits<float>::infinity();
          for (int64_t c = 0; c < d; ++c) mx = std::max(mx, x[c] * scale);
          float sum = 0.0f;
          for (int64_t c = 0; c < d; ++c) {
            y[c] = std::exp(x[c] * scale - mx);
            sum += y[c];
          }
          const float inv = 1.0f / sum;
          for (int64_t c = 0; c < d; ++c) y[c] *= inv;
        }
      },
      GrainFor(d));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
