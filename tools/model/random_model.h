// Writes a Qwen3.5 checkpoint with seeded random weights: a faithful config.json (model_type
// qwen3_5, text_config, vision_config, "tpserve_random_weights": true), NOTICE.txt, and the exact
// Hugging Face tensor names and shapes (spec §2) in one model.safetensors or in shards with
// model.safetensors.index.json. No Python or torch needed; tensors are streamed one chunk at a
// time, so memory stays bounded (a few MiB) whatever the model size.
//
// Values are scaled so a forward pass stays finite and non-trivial: Linear weights ~ U(-a, a)
// with a = sqrt(3 / fan_in) (unit-variance activations), embeddings ~ U(-1, 1), zero-centred
// RMSNorm weights ~ U(-0.1, 0.1), gated-norm and LayerNorm weights ~ 1 + U(-0.1, 0.1),
// A_log = log(U(1, 16)), dt_bias ~ U(-0.1, 0.1), conv1d ~ U(-0.5, 0.5), biases ~ U(-0.05, 0.05),
// vision position table ~ U(-0.5, 0.5). Each tensor's values depend only on the seed and the
// tensor's name, so they do not change with sharding or with the vision tower on or off.
#ifndef TPSERVE_TOOLS_MODEL_RANDOM_MODEL_H_
#define TPSERVE_TOOLS_MODEL_RANDOM_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "model/model_tensors.h"
#include "ops/base/dtype.h"

namespace tpserve::tools {

struct RandomModelOptions {
  std::string output_dir;  // created when missing; existing files of the same names are replaced
  std::string preset = "0.8b";            // a Qwen35Preset name, used when `spec` is empty
  std::optional<model::Qwen35Spec> spec;  // a custom spec (validated before anything is written)
  DType weight_dtype = DType::kBF16;      // kBF16, kF16 or kF32
  uint64_t seed = 0;
  bool include_vision = true;  // false drops vision_config and the model.visual.* tensors
  size_t max_shard_bytes = 0;  // 0: a single model.safetensors; else shards of at most this size
                               // (a tensor larger than the limit gets a shard of its own)
};

// One output weights file and the tensors it holds, in write order.
struct RandomModelFile {
  std::string file_name;
  std::vector<model::TensorDecl> tensors;
  size_t data_bytes = 0;
};

struct RandomModelPlan {
  model::Qwen35Spec
      spec;  // what config.json will say (random_weights set, dtype, vision as chosen)
  std::vector<RandomModelFile> files;
  size_t total_bytes() const;
  int64_t total_params() const;
};

// What WriteRandomQwen35Model would write, without writing anything.
absl::StatusOr<RandomModelPlan> PlanRandomQwen35Model(const RandomModelOptions& options);

absl::Status WriteRandomQwen35Model(const RandomModelOptions& options);

// Fills `out` with elements [first, first + count) of `tensor`'s values, as f32 before rounding
// to the weight dtype (exposed for tests of ranges and determinism).
void GenerateRandomValues(const model::TensorDecl& tensor, uint64_t seed, int64_t first,
                          int64_t count, float* out);

}  // namespace tpserve::tools

#endif  // TPSERVE_TOOLS_MODEL_RANDOM_MODEL_H_
