// DeltaNetGates: beta = sigmoid(b); g = -exp(a_log) · softplus(a + dt_bias), as HF computes them in
// f32 (torch softplus: x above the threshold 20 returns x).
#include <cmath>

#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

inline float Softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

}  // namespace

absl::Status DeltaNetGates(ThreadPool& pool, const DeltaNetGatesArgs& args) {
  constexpr std::string_view kOp = "DeltaNetGates";
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "a", args.a, {DType::kF32}, {{"n", kAnyDim}, {"heads", kAnyDim}}));
  const int64_t n = args.a.dim(0), heads = args.a.dim(1);
  const std::initializer_list<Dim> nh = {{"n", n}, {"heads", heads}};
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "b", args.b, {DType::kF32}, nh));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "a_log", args.a_log, {DType::kF32}, {{"heads", heads}}));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "dt_bias", args.dt_bias, {DType::kF32}, {{"heads", heads}}));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "g", args.g, {DType::kF32}, nh));
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "beta", args.beta, {DType::kF32}, nh));
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(kOp, "g", args.g, "a", args.a));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "g", args.g, "b", args.b));
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(kOp, "beta", args.beta, "b", args.b));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "beta", args.beta, "a", args.a));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "beta", args.beta, "g", args.g));
  const auto* a_log = static_cast<const float*>(args.a_log.data);
  const auto* dt_bias = static_cast<const float*>(args.dt_bias.data);
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const float* a = RowPtr(args.a, t);
          const float* b = RowPtr(args.b, t);
          float* g = RowPtr(args.g, t);
          float* beta = RowPtr(args.beta, t);
          for (int64_t h = 0; h < heads; ++h) {
            const float bh = b[h];
            g[h] = -std::exp(a_log[h]) * Softplus(a[h] + dt_bias[h]);
            beta[h] = Sigmoid(bh);
          }
        }
      },
      GrainFor(heads));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
