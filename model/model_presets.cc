// Qwen35Spec -> config.json, and the published sizes as specs (spec §1.4).
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/json_internal.h"
#include "model/model_spec.h"

namespace tpserve::model {
namespace {

using internal::Json;

Json TextToJson(const TextSpec& t, bool nested) {
  Json j = Json::object();
  if (nested) j["model_type"] = "qwen3_5_text";
  j["vocab_size"] = t.vocab_size;
  j["hidden_size"] = t.hidden_size;
  j["intermediate_size"] = t.intermediate_size;
  j["num_hidden_layers"] = t.num_hidden_layers;
  j["num_attention_heads"] = t.num_heads;
  j["num_key_value_heads"] = t.num_kv_heads;
  j["head_dim"] = t.head_dim;
  j["linear_num_key_heads"] = t.num_k_heads;
  j["linear_num_value_heads"] = t.num_v_heads;
  j["linear_key_head_dim"] = t.head_k_dim;
  j["linear_value_head_dim"] = t.head_v_dim;
  j["linear_conv_kernel_dim"] = t.conv_kernel_size;
  j["rms_norm_eps"] = t.rms_norm_eps;
  j["max_position_embeddings"] = t.max_position_embeddings;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["attention_dropout"] = 0.0;
  j["attn_output_gate"] = true;
  if (!t.output_gate_type.empty()) j["output_gate_type"] = t.output_gate_type;
  j["initializer_range"] = 0.02;
  j["use_cache"] = true;
  Json types = Json::array();
  for (LayerKind k : t.layer_types) types.push_back(std::string(LayerKindName(k)));
  j["layer_types"] = std::move(types);
  if (std::optional<int64_t> interval = RegularFullAttentionInterval(t.layer_types);
      interval.has_value()) {
    j["full_attention_interval"] = *interval;
  }
  j["rope_parameters"] = {
      {"rope_type", t.rope.rope_type},
      {"rope_theta", t.rope.rope_theta},
      {"partial_rotary_factor", t.rope.partial_rotary_factor},
      {"mrope_section",
       {t.rope.mrope_section[0], t.rope.mrope_section[1], t.rope.mrope_section[2]}},
      {"mrope_interleaved", t.rope.mrope_interleaved},
  };
  j["partial_rotary_factor"] = t.rope.partial_rotary_factor;
  j["tie_word_embeddings"] = t.tie_word_embeddings;
  if (t.eos_token_ids.size() == 1) {
    j["eos_token_id"] = t.eos_token_ids[0];
  } else if (!t.eos_token_ids.empty()) {
    j["eos_token_id"] = t.eos_token_ids;
  } else {
    j["eos_token_id"] = nullptr;
  }
  j["bos_token_id"] = t.bos_token_id.has_value() ? Json(*t.bos_token_id) : Json(nullptr);
  j["pad_token_id"] = t.pad_token_id.has_value() ? Json(*t.pad_token_id) : Json(nullptr);
  if (!t.dtype.empty()) j["dtype"] = t.dtype;
  j["mamba_ssm_dtype"] = t.mamba_ssm_dtype;
  j["mtp_num_hidden_layers"] = t.mtp_num_hidden_layers;
  j["mtp_use_dedicated_embeddings"] = t.mtp_use_dedicated_embeddings;
  return j;
}

Json VisionToJson(const VisionSpec& v) {
  Json j = {
      {"model_type", "qwen3_5"},
      {"depth", v.depth},
      {"hidden_size", v.hidden_size},
      {"num_heads", v.num_heads},
      {"intermediate_size", v.intermediate_size},
      {"hidden_act", v.hidden_act},
      {"in_channels", v.in_channels},
      {"patch_size", v.patch_size},
      {"temporal_patch_size", v.temporal_patch_size},
      {"spatial_merge_size", v.spatial_merge_size},
      {"num_position_embeddings", v.num_position_embeddings},
      {"out_hidden_size", v.out_hidden_size},
      {"deepstack_visual_indexes", Json::array()},
      {"initializer_range", 0.02},
  };
  if (v.rope_theta != 10000.0) {
    j["rope_parameters"] = {{"rope_type", "axial"}, {"rope_theta", v.rope_theta}};
  }
  return j;
}

struct PresetRow {
  const char* name;
  int64_t hidden, layers, intermediate, heads, kv_heads, v_heads;
  bool tied;
  int64_t vis_depth, vis_hidden, vis_heads, vis_intermediate;
};

// Spec §1.4 (text and vision tables).
constexpr PresetRow kPresets[] = {
    {"0.8b", 1024, 24, 3584, 8, 2, 16, true, 12, 768, 12, 3072},
    {"2b", 2048, 24, 6144, 8, 2, 16, true, 24, 1024, 16, 4096},
    {"4b", 2560, 32, 9216, 16, 4, 32, true, 24, 1024, 16, 4096},
    {"9b", 4096, 32, 12288, 16, 4, 32, false, 27, 1152, 16, 4304},
    {"27b", 5120, 64, 17408, 24, 4, 48, false, 27, 1152, 16, 4304},
    {"3.6-27b", 5120, 64, 17408, 24, 4, 48, false, 27, 1152, 16, 4304},
};

}  // namespace

std::string Qwen35SpecToConfigJson(const Qwen35Spec& spec) {
  Json root = Json::object();
  root["model_type"] = spec.model_type;
  if (!spec.architectures.empty()) root["architectures"] = spec.architectures;
  if (spec.model_type == "qwen3_5_text") {
    root.update(TextToJson(spec.text, /*nested=*/false));
  } else {
    root["text_config"] = TextToJson(spec.text, /*nested=*/true);
    if (spec.vision.has_value()) root["vision_config"] = VisionToJson(*spec.vision);
    root["tie_word_embeddings"] = spec.text.tie_word_embeddings;
    root["image_token_id"] = spec.image_token_id;
    root["video_token_id"] = spec.video_token_id;
    root["vision_start_token_id"] = spec.vision_start_token_id;
    root["vision_end_token_id"] = spec.vision_end_token_id;
    root["language_model_only"] = spec.language_model_only;
    if (!spec.text.dtype.empty()) root["dtype"] = spec.text.dtype;
  }
  if (!spec.quantization.empty())
    root["quantization_config"] = {{"quant_method", spec.quantization}};
  if (spec.random_weights) root["tpserve_random_weights"] = true;
  return root.dump(2) + "\n";
}

namespace {

// "tiny": the real vocabulary and token ids (so a real tokenizer and the chat template work) on a
// 64-wide, 4-layer body with a one-block vision tower: a fast stand-in for service tests and demos.
Qwen35Spec TinyPreset() {
  Qwen35Spec s;
  s.model_type = "qwen3_5";
  s.architectures = {"Qwen3_5ForConditionalGeneration"};
  TextSpec& t = s.text;
  t.vocab_size = 248320;
  t.hidden_size = 64;
  t.intermediate_size = 128;
  t.num_hidden_layers = 4;
  t.num_heads = 4;
  t.num_kv_heads = 2;
  t.head_dim = 32;
  t.num_k_heads = 4;
  t.num_v_heads = 8;
  t.head_k_dim = 16;
  t.head_v_dim = 16;
  t.conv_kernel_size = 4;
  t.rms_norm_eps = 1e-6;
  t.max_position_embeddings = 262144;
  t.layer_types = {LayerKind::kLinearAttention, LayerKind::kLinearAttention,
                   LayerKind::kLinearAttention, LayerKind::kFullAttention};
  t.rope = RopeSpec{};
  t.rope.mrope_section = {2, 1, 1};
  t.rope.rotary_dim = 8;
  t.tie_word_embeddings = true;
  t.eos_token_ids = {248044};
  t.dtype = "bfloat16";
  VisionSpec v;
  v.depth = 1;
  v.hidden_size = 32;
  v.num_heads = 2;
  v.intermediate_size = 64;
  v.num_position_embeddings = 16;
  v.out_hidden_size = 64;
  s.vision = v;
  return s;
}

}  // namespace

absl::StatusOr<Qwen35Spec> Qwen35Preset(std::string_view name) {
  if (name == "tiny") return TinyPreset();
  for (const PresetRow& p : kPresets) {
    if (name != p.name) continue;
    Qwen35Spec s;
    s.model_type = "qwen3_5";
    s.architectures = {"Qwen3_5ForConditionalGeneration"};
    TextSpec& t = s.text;
    t.vocab_size = 248320;
    t.hidden_size = p.hidden;
    t.intermediate_size = p.intermediate;
    t.num_hidden_layers = p.layers;
    t.num_heads = p.heads;
    t.num_kv_heads = p.kv_heads;
    t.head_dim = 256;
    t.num_k_heads = 16;
    t.num_v_heads = p.v_heads;
    t.head_k_dim = 128;
    t.head_v_dim = 128;
    t.conv_kernel_size = 4;
    t.rms_norm_eps = 1e-6;
    t.max_position_embeddings = 262144;
    for (int64_t i = 0; i < p.layers; ++i) {
      t.layer_types.push_back((i + 1) % 4 == 0 ? LayerKind::kFullAttention
                                               : LayerKind::kLinearAttention);
    }
    t.rope = RopeSpec{};  // default, 1e7, 0.25, [11, 11, 10], interleaved, rotary_dim 64
    t.tie_word_embeddings = p.tied;
    t.eos_token_ids = {248044};
    t.dtype = "bfloat16";
    t.mtp_num_hidden_layers = 1;
    if (name == "3.6-27b") {
      t.bos_token_id = 248044;
      t.output_gate_type = "swish";
    }
    VisionSpec v;
    v.depth = p.vis_depth;
    v.hidden_size = p.vis_hidden;
    v.num_heads = p.vis_heads;
    v.intermediate_size = p.vis_intermediate;
    v.out_hidden_size = p.hidden;
    s.vision = v;
    return s;
  }
  std::string names;
  for (const PresetRow& p : kPresets) absl::StrAppend(&names, names.empty() ? "" : ", ", p.name);
  absl::StrAppend(&names, ", tiny");
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model preset '", std::string(name), "' (expected one of ", names, ")"));
}

std::vector<std::string> Qwen35PresetNames() {
  std::vector<std::string> names;
  for (const PresetRow& p : kPresets) names.emplace_back(p.name);
  return names;
}

}  // namespace tpserve::model
