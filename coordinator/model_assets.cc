#include "coordinator/model_assets.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/chat_template.h"
#include "nlohmann/json.hpp"
#include "ops/base/sampling_bounds.h"
#include "ops/base/status_macros.h"

namespace tpserve::coordinator {
namespace {

struct GenerationConfig {
  std::vector<int32_t> eos_token_ids;
  GenerationDefaults defaults;
};

// The text of `path`, or nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadOptionalFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return std::optional<std::string>(ss.str());
}

absl::StatusOr<GenerationConfig> ReadGenerationConfig(const std::string& dir) {
  const std::string path = dir + "/generation_config.json";
  GenerationConfig out;
  TPS_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadOptionalFile(path));
  if (!text.has_value()) return out;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
    const nlohmann::json list = it->is_array() ? *it : nlohmann::json::array({*it});
    for (const auto& v : list) {
      if (!v.is_number_integer()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": eos_token_id: expected an integer or a list of integers"));
      }
      out.eos_token_ids.push_back(v.get<int32_t>());
    }
  }
  // transformers samples only with do_sample: true; otherwise it is greedy whatever the
  // temperature says. repetition_penalty applies either way.
  auto number = [&](const char* key, auto* field) -> absl::Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_number()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", key, ": expected a number"));
    }
    *field = it->get<std::remove_pointer_t<decltype(field)>>();
    return absl::OkStatus();
  };
  TPS_RETURN_IF_ERROR(number("repetition_penalty", &out.defaults.repetition_penalty));
  const auto sample = j.find("do_sample");
  if (sample != j.end() && sample->is_boolean() && sample->get<bool>()) {
    out.defaults.temperature = 1.0f;
    TPS_RETURN_IF_ERROR(number("temperature", &out.defaults.temperature));
    TPS_RETURN_IF_ERROR(number("top_k", &out.defaults.top_k));
    TPS_RETURN_IF_ERROR(number("top_p", &out.defaults.top_p));
    TPS_RETURN_IF_ERROR(number("min_p", &out.defaults.min_p));
  }
  // The defaults fill every field a request leaves unset: the same bounds as a request's own.
  const GenerationDefaults& d = out.defaults;
  TPS_RETURN_IF_ERROR(ValidateSamplingFields({.temperature = d.temperature,
                                              .top_k = d.top_k,
                                              .top_p = d.top_p,
                                              .min_p = d.min_p,
                                              .repetition_penalty = d.repetition_penalty},
                                             absl::StrCat(path, ": ")));
  return out;
}

// Qwen3.6's template is the only one with a preserve_thinking switch.
absl::StatusOr<tokenizer::ChatTemplateVariant> DetectTemplateVariant(const std::string& dir) {
  for (const char* name : {"chat_template.jinja", "tokenizer_config.json"}) {
    TPS_ASSIGN_OR_RETURN(std::optional<std::string> text, ReadOptionalFile(dir + "/" + name));
    if (text.has_value() && text->find("preserve_thinking") != std::string::npos) {
      return tokenizer::ChatTemplateVariant::kQwen36;
    }
  }
  return tokenizer::ChatTemplateVariant::kQwen35;
}

void AddUnique(int32_t id, std::vector<int32_t>* ids) {
  if (std::find(ids->begin(), ids->end(), id) == ids->end()) ids->push_back(id);
}

struct TierRow {
  const char* tier;
  int64_t hidden;
  int64_t layers;
};
// Spec §1.4 (Qwen3.6-27B has the 27B shape).
constexpr TierRow kTiers[] = {
    {"0.8b", 1024, 24}, {"2b", 2048, 24}, {"4b", 2560, 32}, {"9b", 4096, 32}, {"27b", 5120, 64},
};

}  // namespace

std::vector<TokenIdRange> AllowedTokenRanges(const tokenizer::Tokenizer& tokenizer,
                                             int32_t vocab_limit) {
  std::vector<TokenIdRange> ranges;
  const int32_t end = std::min(tokenizer.vocab_size(), vocab_limit);
  for (int32_t id = 0; id < end; ++id) {
    if (!tokenizer.IsKnownId(id)) continue;
    if (!ranges.empty() && ranges.back().end == id) {
      ranges.back().end = id + 1;
    } else {
      ranges.push_back({id, id + 1});
    }
  }
  return ranges;
}

std::string TierOfSpec(const model::Qwen35Spec& spec) {
  for (const TierRow& row : kTiers) {
    if (spec.text.hidden_size == row.hidden && spec.text.num_hidden_layers == row.layers) {
      return row.tier;
    }
  }
  return "custom";
}

int TierRank(const std::string& tier) {
  for (size_t i = 0; i < std::size(kTiers); ++i) {
    if (tier == kTiers[i].tier) return static_cast<int>(i) + 1;
  }
  return 0;
}

absl::StatusOr<std::shared_ptr<const ModelAssets>> LoadModelAssets(const std::string& model_dir) {
  auto assets = std::make_shared<ModelAssets>();
  assets->model_dir = model_dir;
  TPS_ASSIGN_OR_RETURN(assets->spec, model::LoadQwen35Config(model_dir));
  TPS_ASSIGN_OR_RETURN(assets->tokenizer, tokenizer::Tokenizer::FromModelDir(model_dir));
  TPS_ASSIGN_OR_RETURN(assets->template_variant, DetectTemplateVariant(model_dir));
  TPS_ASSIGN_OR_RETURN(GenerationConfig gen, ReadGenerationConfig(model_dir));
  assets->generation_defaults = gen.defaults;
  assets->default_thinking =
      tokenizer::DefaultThinkingForModel(assets->spec.text.num_hidden_layers);

  const tokenizer::Tokenizer& tok = *assets->tokenizer;
  const auto vocab = static_cast<int32_t>(assets->spec.text.vocab_size);
  std::vector<int32_t> stops;
  for (const char* token : {"<|im_end|>", "<|endoftext|>"}) {
    if (std::optional<int32_t> id = tok.TokenToId(token); id.has_value()) AddUnique(*id, &stops);
  }
  for (int32_t id : assets->spec.text.eos_token_ids) AddUnique(id, &stops);
  for (int32_t id : gen.eos_token_ids) AddUnique(id, &stops);
  for (int32_t id : stops) {
    if (id < 0 || id >= vocab) {
      return absl::InvalidArgumentError(absl::StrCat(model_dir, ": end-of-turn id ", id,
                                                     " is outside the vocabulary (vocab_size ",
                                                     vocab, ")"));
    }
  }
  if (stops.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        model_dir, ": no end-of-turn id (no <|im_end|> in tokenizer.json, no eos_token_id)"));
  }
  assets->stop_token_ids = std::move(stops);
  assets->allowed_tokens = AllowedTokenRanges(tok, vocab);
  if (assets->allowed_tokens.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_dir, ": the tokenizer knows no id below vocab_size ", vocab));
  }
  assets->think_start_id = tok.TokenToId("<think>");
  assets->think_end_id = tok.TokenToId("</think>");
  return std::shared_ptr<const ModelAssets>(std::move(assets));
}

}  // namespace tpserve::coordinator
