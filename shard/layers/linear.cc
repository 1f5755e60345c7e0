#include "shard/layers/linear.h"

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"

namespace tpserve::shard {

absl::Status ApplyLinear(ops::Backend& backend, const LinearWeight& w, ops::ConstTensorView x,
                         ops::TensorView out, bool accumulate) {
  if (out.dim(1) != w.out_features()) {
    return absl::InternalError(absl::StrCat("linear: output has ", out.dim(1),
                                            " columns, weight has ", w.out_features(), " rows"));
  }
  int64_t col = 0;
  for (const auto& piece : w.pieces) {
    ops::MatMulArgs args;
    args.x = x;
    args.w = piece;
    args.out = out.Slice(1, col, col + piece.dim(0));
    args.accumulate = accumulate;
    TPS_RETURN_IF_ERROR(backend.MatMul(args));
    col += piece.dim(0);
  }
  return absl::OkStatus();
}

}  // namespace tpserve::shard
