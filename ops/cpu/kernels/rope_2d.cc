// Rope2d: the axial 2-D rotary embedding of a ViT (op_args.h). The frequencies follow PyTorch's
// f32 order exactly (inv_freq = 1 / theta^(f32(2j) / f32(half)), angle = f32(position) · inv_freq)
// so the rotation agrees with transformers to the last bit of cos/sin.
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {

absl::Status Rope2d(ThreadPool& pool, const Rope2dArgs& args) {
  constexpr std::string_view kOp = "Rope2d";
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "x", args.x, {DType::kF32},
                                  {{"n", kAnyDim}, {"heads", kAnyDim}, {"head_dim", kAnyDim}}));
  const int64_t n = args.x.dim(0), heads = args.x.dim(1), head_dim = args.x.dim(2);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "positions", args.positions, {DType::kI32}, {{"n", n}, {"2", 2}}));
  if (head_dim % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Rope2d: head_dim must be a multiple of 4, got ", head_dim));
  }
  if (!(args.theta > 0.0f) || !std::isfinite(args.theta)) {
    return absl::InvalidArgumentError(absl::StrCat("Rope2d: theta must be > 0, got ", args.theta));
  }
  const int64_t half = head_dim / 2, nf = head_dim / 4;
  if (n == 0 || half == 0) return absl::OkStatus();
  std::vector<float> inv_freq(static_cast<size_t>(nf));
  for (int64_t j = 0; j < nf; ++j) {
    const float exponent = static_cast<float>(2 * j) / static_cast<float>(half);
    inv_freq[static_cast<size_t>(j)] = 1.0f / std::pow(args.theta, exponent);
  }
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        std::vector<float> cos_v(static_cast<size_t>(half)), sin_v(static_cast<size_t>(half));
        for (int64_t t = begin; t < end; ++t) {
          const auto* pos = static_cast<const int32_t*>(args.positions.At(t));
          for (int64_t i = 0; i < half; ++i) {
            const float p = static_cast<float>(i < nf ? pos[0] : pos[1]);
            const float angle = p * inv_freq[static_cast<size_t>(i < nf ? i : i - nf)];
            cos_v[static_cast<size_t>(i)] = std::cos(angle);
            sin_v[static_cast<size_t>(i)] = std::sin(angle);
          }
          for (int64_t h = 0; h < heads; ++h) {
            RotateHalf(static_cast<float*>(args.x.At(t, h)), cos_v.data(), sin_v.data(), half);
          }
        }
      },
      GrainFor(heads * head_dim));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
