// What the coordinator needs of one served model to admit requests and stream answers: its
// config, its tokenizer, the chat-template flavour and defaults, the ids that end a turn, the ids
// the sampler may pick, and the sampling defaults of generation_config.json. Read once from the
// model directory (the same Hugging Face directory the workers load) and shared read-only.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<const ModelAssets> assets, LoadModelAssets("/models/0.8b"));
//   assets->tokenizer->Encode(prompt);
//
// Immutable after loading: thread-safe.
#ifndef TPSERVE_COORDINATOR_MODEL_ASSETS_H_
#define TPSERVE_COORDINATOR_MODEL_ASSETS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/tokenizer/chat_template.h"
#include "coordinator/tokenizer/tokenizer.h"
#include "model/model_spec.h"

namespace tpserve::coordinator {

// A half-open range [begin, end) of token ids.
struct TokenIdRange {
  int32_t begin = 0;
  int32_t end = 0;
  friend bool operator==(const TokenIdRange&, const TokenIdRange&) = default;
};

// Sampling defaults: generation_config.json's when it sets do_sample, else greedy.
struct GenerationDefaults {
  float temperature = 0.0f;  // 0: greedy
  int32_t top_k = 0;         // 0: off
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
};

struct ModelAssets {
  std::string model_dir;
  model::Qwen35Spec spec;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  // kQwen36 when the directory's chat template mentions preserve_thinking (only Qwen3.6's does).
  tokenizer::ChatTemplateVariant template_variant = tokenizer::ChatTemplateVariant::kQwen35;
  // Off for the 24-layer sizes (0.8B, 2B), on above (DefaultThinkingForModel).
  bool default_thinking = true;
  // <|im_end|>, <|endoftext|>, config.json's and generation_config.json's eos ids; deduplicated,
  // each below spec.text.vocab_size.
  std::vector<int32_t> stop_token_ids;
  // The ids the tokenizer can decode, below spec.text.vocab_size, as contiguous runs (the
  // embedding's padding rows are left out).
  std::vector<TokenIdRange> allowed_tokens;
  std::optional<int32_t> think_start_id;  // <think>
  std::optional<int32_t> think_end_id;    // </think>
  GenerationDefaults generation_defaults;
};

// Loads config.json, tokenizer.json and (when present) generation_config.json and the chat
// template of `model_dir`. Errors name the file and the field.
absl::StatusOr<std::shared_ptr<const ModelAssets>> LoadModelAssets(const std::string& model_dir);

// The contiguous runs of ids in [0, min(tokenizer.vocab_size(), vocab_limit)) that `tokenizer`
// knows.
std::vector<TokenIdRange> AllowedTokenRanges(const tokenizer::Tokenizer& tokenizer,
                                             int32_t vocab_limit);

// The model size tier of a config (spec §1.4): "0.8b", "2b", "4b", "9b", "27b" when hidden size and
// layer count match a published size, else "custom".
std::string TierOfSpec(const model::Qwen35Spec& spec);
// Larger tiers rank higher; "custom" ranks lowest.
int TierRank(const std::string& tier);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_MODEL_ASSETS_H_
