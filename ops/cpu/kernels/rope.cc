// Rope: NeoX half rotation of the first rotary_dim dims of every head, with the M-RoPE axis rule of
// op_args.h. cos/sin follow HF's f32 order exactly so large positions agree with torch:
//   inv_freq = 1 / theta^(f32(2i) / f32(rotary_dim)),  angle = f32(position) · inv_freq.
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

// Axis (0 = t, 1 = h, 2 = w) of frequency i.
int AxisOf(int64_t i, const RopeArgs& a) {
  if (a.interleaved) {
    if (i % 3 == 1 && i < 3 * int64_t{a.sections[1]}) return 1;
    if (i % 3 == 2 && i < 3 * int64_t{a.sections[2]}) return 2;
    return 0;
  }
  if (i < a.sections[0]) return 0;
  if (i < int64_t{a.sections[0]} + a.sections[1]) return 1;
  return 2;
}

}  // namespace

absl::Status Rope(ThreadPool& pool, const RopeArgs& args) {
  constexpr std::string_view kOp = "Rope";
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "x", args.x, {DType::kF32},
                                  {{"n", kAnyDim}, {"heads", kAnyDim}, {"head_dim", kAnyDim}}));
  const int64_t n = args.x.dim(0), heads = args.x.dim(1), head_dim = args.x.dim(2);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "positions", args.positions, {DType::kI32}, {{"n", n}, {"3", 3}}));
  const int64_t rd = args.rotary_dim;
  if (rd < 0 || rd % 2 != 0 || rd > head_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Rope: rotary_dim must be even and in [0, head_dim=", head_dim, "], got ", rd));
  }
  const int64_t half = rd / 2;
  int64_t section_sum = 0;
  bool negative = false;
  for (int32_t s : args.sections) {
    negative |= s < 0;
    section_sum += s;
  }
  if (negative || section_sum != half) {
    return absl::InvalidArgumentError(
        absl::StrCat("Rope: sections must be >= 0 and sum to rotary_dim / 2 = ", half, ", got [",
                     args.sections[0], ", ", args.sections[1], ", ", args.sections[2], "]"));
  }
  if (!(args.theta > 0.0f) || !std::isfinite(args.theta)) {
    return absl::InvalidArgumentError(absl::StrCat("Rope: theta must be > 0, got ", args.theta));
  }
  if (half == 0 || n == 0) return absl::OkStatus();

  std::vector<float> inv_freq(static_cast<size_t>(half));
  std::vector<int> axis(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rd);
    inv_freq[static_cast<size_t>(i)] = 1.0f / std::pow(args.theta, exponent);
    axis[static_cast<size_t>(i)] = AxisOf(i, args);
  }
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        std::vector<float> cos_v(static_cast<size_t>(half)), sin_v(static_cast<size_t>(half));
        for (int64_t t = begin; t < end; ++t) {
          const auto* pos = static_cast<const int32_t*>(args.positions.At(t));
          for (int64_t i = 0; i < half; ++i) {
            const auto u = static_cast<size_t>(i);
            const float angle = static_cast<float>(pos[axis[u]]) * inv_freq[u];
            cos_v[u] = std::cos(angle);
            sin_v[u] = std::sin(angle);
          }
          for (int64_t h = 0; h < heads; ++h) {
            RotateHalf(static_cast<float*>(args.x.At(t, h)), cos_v.data(), sin_v.data(), half);
          }
        }
      },
      GrainFor(heads * rd));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
