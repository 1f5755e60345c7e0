// LoadQwen35Model: config.json + checkpoint + this rank's weights → a ready Qwen35Model.
#ifndef TPSERVE_SHARD_MODEL_LOADER_H_
#define TPSERVE_SHARD_MODEL_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "model/parallel_layout.h"
#include "ops/core/backend.h"
#include "shard/qwen35_model.h"

namespace tpserve::shard {

struct LoadedModel {
  model::Qwen35Spec spec;
  std::unique_ptr<Qwen35Model> model;
  // End-of-sequence ids: config eos ids plus generation_config.json's, deduplicated.
  std::vector<int32_t> stop_token_ids;
};

absl::StatusOr<LoadedModel> LoadQwen35Model(const std::string& model_dir, ops::Backend& backend,
                                            const model::ParallelLayout& layout,
                                            const ModelOptions& options);

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_MODEL_LOADER_H_
