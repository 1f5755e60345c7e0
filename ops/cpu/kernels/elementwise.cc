// Element-wise ops: SiluMul (SwiGLU), SigmoidMul (attention output gate), Add.
#include <functional>

#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

// Checks out = f(a, b) over same-shaped rank-2 (or, with allow_rank3, rank-3) f32 views, where
// out may be exactly a or b.
absl::Status CheckBinary(std::string_view op, std::string_view a_name, const ConstTensorView& a,
                         std::string_view b_name, const ConstTensorView& b, const TensorView& out,
                         bool allow_rank3) {
  if (allow_rank3 && a.rank() == 3) {
    TPS_RETURN_IF_ERROR(CheckTensor(op, a_name, a, {DType::kF32},
                                    {{"n", kAnyDim}, {"heads", kAnyDim}, {"head_dim", kAnyDim}}));
    const std::initializer_list<Dim> dims = {
        {"n", a.dim(0)}, {"heads", a.dim(1)}, {"head_dim", a.dim(2)}};
    TPS_RETURN_IF_ERROR(CheckTensor(op, b_name, b, {DType::kF32}, dims));
    TPS_RETURN_IF_ERROR(CheckTensor(op, "out", out, {DType::kF32}, dims));
  } else {
    TPS_RETURN_IF_ERROR(
        CheckTensor(op, a_name, a, {DType::kF32}, {{"n", kAnyDim}, {"d", kAnyDim}}));
    const std::initializer_list<Dim> dims = {{"n", a.dim(0)}, {"d", a.dim(1)}};
    TPS_RETURN_IF_ERROR(CheckTensor(op, b_name, b, {DType::kF32}, dims));
    TPS_RETURN_IF_ERROR(CheckTensor(op, "out", out, {DType::kF32}, dims));
  }
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(op, "out", out, a_name, a));
  TPS_RETURN_IF_ERROR(CheckExactAliasOrDisjoint(op, "out", out, b_name, b));
  return absl::OkStatus();
}

template <typename F>
void RunBinary(ThreadPool& pool, const ConstTensorView& a, const ConstTensorView& b,
               const TensorView& out, F f) {
  const int64_t d = a.dim(a.rank() - 1);
  pool.ParallelFor(
      NumRows(a),
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* pa = RowPtr(a, r);
          const float* pb = RowPtr(b, r);
          float* po = RowPtr(out, r);
          for (int64_t c = 0; c < d; ++c) po[c] = f(pa[c], pb[c]);
        }
      },
      GrainFor(d));
}

}  // namespace

absl::Status SiluMul(ThreadPool& pool, const SiluMulArgs& args) {
  TPS_RETURN_IF_ERROR(CheckBinary("SiluMul", "gate", args.gate, "up", args.up, args.out, false));
  RunBinary(pool, args.gate, args.up, args.out, [](float g, float u) { return Silu(g) * u; });
  return absl::OkStatus();
}

absl::Status SigmoidMul(ThreadPool& pool, const SigmoidMulArgs& args) {
  TPS_RETURN_IF_ERROR(CheckBinary("SigmoidMul", "x", args.x, "gate", args.gate, args.out, true));
  RunBinary(pool, args.x, args.gate, args.out, [](float x, float g) { return x * Sigmoid(g); });
  return absl::OkStatus();
}

absl::Status Add(ThreadPool& pool, const AddArgs& args) {
  TPS_RETURN_IF_ERROR(CheckBinary("Add", "a", args.a, "b", args.b, args.out, false));
  RunBinary(pool, args.a, args.b, args.out, [](float a, float b) { return a + b; });
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
