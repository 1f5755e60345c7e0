#include "shard/layers/mlp.h"

#include "ops/base/status_macros.h"
#include "shard/layers/linear.h"

namespace tpserve::shard {

absl::Status MlpLayer::Forward(ops::Backend& backend, const StepContext& ctx, Workspace& ws,
                               ops::ConstTensorView normed, ops::TensorView out) const {
  const int64_t n = ctx.num_tokens;
  ops::TensorView gate = Rows(ws.gate, n), up = Rows(ws.up, n);
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.gate_proj, normed, gate));
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.up_proj, normed, up));
  ops::SiluMulArgs act{.gate = gate, .up = up, .out = gate};
  TPS_RETURN_IF_ERROR(backend.SiluMul(act));
  return ApplyLinear(backend, weights_.down_proj, gate, out);
}

}  // namespace tpserve::shard
