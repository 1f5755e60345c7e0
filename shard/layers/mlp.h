// SwiGLU MLP on one rank's intermediate columns: down(silu(gate(u)) ⊙ up(u)); down_proj is
// row-parallel (its partial sum is reduced by the caller).
#ifndef TPSERVE_SHARD_LAYERS_MLP_H_
#define TPSERVE_SHARD_LAYERS_MLP_H_

#include "absl/status/status.h"
#include "ops/core/backend.h"
#include "shard/layers/workspace.h"
#include "shard/model_weights.h"
#include "shard/step_context.h"

namespace tpserve::shard {

class MlpLayer {
 public:
  explicit MlpLayer(const MlpWeights& weights) : weights_(weights) {}

  // normed: [n, hidden]; out: [n, hidden].
  absl::Status Forward(ops::Backend& backend, const StepContext& ctx, Workspace& ws,
                       ops::ConstTensorView normed, ops::TensorView out) const;

 private:
  MlpWeights weights_;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_LAYERS_MLP_H_
