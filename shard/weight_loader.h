// Loads one rank's slices of a Qwen3.5 text model from a checkpoint into ModelWeights.
//
// Every tensor is checked against the shape the config implies (fail closed: an unexpected name,
// a missing tensor, a wrong shape or an unsupported dtype stops the load with an error naming the
// tensor, what it is and what was expected). Large matrices stay in their stored dtype (f32, bf16
// or f16) and, on a host-visible backend, are used straight from the mapped file; norms, A_log,
// dt_bias and the conv kernels are converted to small f32 copies. MTP tensors are never read.
//
// The vision tower (model.visual.*) is loaded when the config has one and options say so: split
// options.vision_tp_size ways (this rank's heads and MLP columns, shard_plan.h) or whole on every
// rank (vision_tp_size 1: data parallel or a single rank). LayerNorm weights, biases and the
// patch embedding are f32 copies; the patch embedding is viewed as [hidden, 3·2·16·16].
#ifndef TPSERVE_SHARD_WEIGHT_LOADER_H_
#define TPSERVE_SHARD_WEIGHT_LOADER_H_

#include "absl/status/statusor.h"
#include "model/checkpoint.h"
#include "model/model_spec.h"
#include "model/parallel_layout.h"
#include "ops/core/backend.h"
#include "shard/model_weights.h"

namespace tpserve::shard {

struct WeightLoadOptions {
  bool load_vision = true;  // false: leave model.visual.* unread (text-only serving)
  // Ranks the tower is split across: layout.tp_size, 1 (whole on every rank), or 0 = layout.tp_size
  // when that splits the tower (VisionTensorParallelStatus), else 1.
  int vision_tp_size = 0;
};

absl::StatusOr<ModelWeights> LoadModelWeights(const model::Checkpoint& checkpoint,
                                              const model::Qwen35Spec& spec,
                                              const model::ParallelLayout& layout,
                                              ops::Backend& backend,
                                              const WeightLoadOptions& options = {});

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_WEIGHT_LOADER_H_
