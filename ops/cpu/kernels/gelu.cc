// GELU, exact (erf) or PyTorch's tanh approximation, element-wise in f32.
#include <cmath>

#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

float GeluErf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

float GeluTanh(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286536f;
  const float inner = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + std::tanh(inner));
}

}  // namespace

absl::Status Gelu(ThreadPool& pool, const GeluArgs& args) {
  constexpr std::string_view kOp = "Gelu";
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "x", args.x, {DType::kF32}, {{"n", kAnyDim}, {"d", kAnyDim}}));
  const int64_t n = args.x.dim(0), d = args.x.dim(1);
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "out", args.out, {DType::kF32}, {{"n", n}, {"d", d}}));
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(kOp, "out", args.out, "x", args.x));
  const bool approx = args.tanh_approximation;
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* x = RowPtr(args.x, r);
          float* y = RowPtr(args.out, r);
          if (approx) {
            for (int64_t c = 0; c < d; ++c) y[c] = GeluTanh(x[c]);
          } else {
            for (int64_t c = 0; c < d; ++c) y[c] = GeluErf(x[c]);
          }
        }
      },
      GrainFor(d * 8));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
