#include "shard/model_loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "model/checkpoint.h"
#include "nlohmann/json.hpp"
#include "ops/base/status_macros.h"
#include "shard/weight_loader.h"
#include "vision/preprocess_config.h"

namespace tpserve::shard {
namespace {

// eos_token_id of generation_config.json (an int or a list), if the file exists and parses.
absl::StatusOr<std::vector<int32_t>> ReadGenerationEos(const std::string& dir) {
  const std::string path = dir + "/generation_config.json";
  std::vector<int32_t> ids;
  std::ifstream in(path);
  if (!in) return ids;
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  auto it = j.find("eos_token_id");
  if (it == j.end() || it->is_null()) return ids;
  auto add = [&](const nlohmann::json& v) -> absl::Status {
    if (!v.is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": eos_token_id must be an integer or a list of integers"));
    }
    ids.push_back(v.get<int32_t>());
    return absl::OkStatus();
  };
  if (it->is_array()) {
    for (const auto& v : *it) TPS_RETURN_IF_ERROR(add(v));
  } else {
    TPS_RETURN_IF_ERROR(add(*it));
  }
  return ids;
}

}  // namespace

absl::StatusOr<LoadedModel> LoadQwen35Model(const std::string& model_dir, ops::Backend& backend,
                                            const model::ParallelLayout& layout,
                                            const ModelOptions& options) {
  LoadedModel out;
  TPS_ASSIGN_OR_RETURN(out.spec, model::LoadQwen35Config(model_dir));
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(model_dir));
  ModelOptions opts = options;
  WeightLoadOptions load;
  if (out.spec.has_vision_tower()) {
    TPS_ASSIGN_OR_RETURN(opts.image_preprocess, vision::LoadPreprocessorConfig(model_dir));
    TPS_ASSIGN_OR_RETURN(load.vision_tp_size,
                         ResolveVisionTpSize(out.spec, layout.tp_size, options.vision_parallelism));
  }
  TPS_ASSIGN_OR_RETURN(ModelWeights weights,
                       LoadModelWeights(*ckpt, out.spec, layout, backend, load));
  TPS_ASSIGN_OR_RETURN(out.model,
                       Qwen35Model::Create(out.spec, std::move(weights), backend, layout, opts));
  out.stop_token_ids = out.spec.text.eos_token_ids;
  TPS_ASSIGN_OR_RETURN(std::vector<int32_t> gen_eos, ReadGenerationEos(model_dir));
  for (int32_t id : gen_eos) {
    if (std::find(out.stop_token_ids.begin(), out.stop_token_ids.end(), id) ==
        out.stop_token_ids.end())
      out.stop_token_ids.push_back(id);
  }
  return out;
}

}  // namespace tpserve::shard
