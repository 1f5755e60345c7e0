// Loads one rank's slices of a Qwen3.5 text model from a checkpoint into ModelWeights.
//
// Every tensor is checked against the shape the config implies (fail closed: an unexpected name,
// a missing tensor, a wrong shape or an unsupported dtype stops the load with an error naming the
// tensor, what it is and what was expected). Large matrices stay in their stored dtype (f32, bf16
// or f16) and, on a host-visible backend, are used straight from the mapped file; norms, A_log,
// dt_bias and the conv kernels are converted to small f32 copies. MTP tensors are never read;
// vision tensors (model.visual.*) are left to the vision tower.
#ifndef TPSERVE_SHARD_WEIGHT_LOADER_H_
#define TPSERVE_SHARD_WEIGHT_LOADER_H_

#include "absl/status/statusor.h"
#include "ops/core/backend.h"
#include "shard/checkpoint.h"
#include "shard/model_spec.h"
#include "shard/model_weights.h"
#include "shard/parallel_layout.h"

namespace tpserve::shard {

absl::StatusOr<ModelWeights> LoadModelWeights(const Checkpoint& checkpoint, const Qwen35Spec& spec,
                                              const ParallelLayout& layout, ops::Backend& backend);

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_WEIGHT_LOADER_H_
