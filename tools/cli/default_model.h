// The model `tpserve up` serves when none is given: Qwen/Qwen3.5-0.8B from the local Hugging Face
// cache, else downloaded from the hub, else (machines that can do neither) a random-weight model
// of the same shape made by the project's own writer, with a banner that its output is noise.
#ifndef TPSERVE_TOOLS_CLI_DEFAULT_MODEL_H_
#define TPSERVE_TOOLS_CLI_DEFAULT_MODEL_H_

#include <string>

#include "absl/status/statusor.h"

namespace tpserve::cli {

inline constexpr char kDefaultModelRepo[] = "Qwen/Qwen3.5-0.8B";

struct ResolvedModel {
  std::string dir;
  std::string name;     // served name
  bool random = false;  // a random-weight stand-in
  std::string source;   // "cache", "download", "random"
};

// `preset` is the random stand-in's shape ("0.8b"; tests use "tiny").
absl::StatusOr<ResolvedModel> ResolveDefaultModel(const std::string& preset = "0.8b");

// The snapshot directory of `repo` ("Org/Name") in the local Hugging Face cache ($HF_HUB_CACHE,
// $HF_HOME/hub, ~/.cache/huggingface/hub), or "" when absent.
std::string FindInHuggingFaceCache(const std::string& repo);

// Writes the companions of a random model directory (tokenizer.json, generation_config.json).
absl::Status WriteRandomModelCompanions(const std::string& dir);

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_DEFAULT_MODEL_H_
