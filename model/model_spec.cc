#include "model/model_spec.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/json_internal.h"
#include "ops/base/status_macros.h"

namespace tpserve::model {
namespace {

using internal::Json;
using internal::JsonFields;

// Bounds that keep every derived size (bytes of the largest tensor, of all weights, of a KV cache)
// far from int64 overflow, while being orders of magnitude above any real model.
constexpr int64_t kMaxDim = int64_t{1} << 20;
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxLayers = 1024;

absl::Status CheckDim(const JsonFields& f, std::string_view key, int64_t value, int64_t max) {
  if (value <= 0) return f.Error(key, absl::StrCat("must be a positive integer, got ", value));
  if (value > max) {
    return f.Error(key, absl::StrCat("is ", value, ", above the supported maximum ", max));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RequiredDim(const JsonFields& f, std::string_view key, int64_t max) {
  TPS_ASSIGN_OR_RETURN(int64_t v, f.RequiredInt(key));
  TPS_RETURN_IF_ERROR(CheckDim(f, key, v, max));
  return v;
}

absl::StatusOr<int64_t> DimOr(const JsonFields& f, std::string_view key, int64_t fallback,
                              int64_t max) {
  TPS_ASSIGN_OR_RETURN(int64_t v, f.IntOr(key, fallback));
  TPS_RETURN_IF_ERROR(CheckDim(f, key, v, max));
  return v;
}

absl::StatusOr<int32_t> TokenIdOr(const JsonFields& f, std::string_view key, int32_t fallback) {
  TPS_ASSIGN_OR_RETURN(int64_t v, f.IntOr(key, fallback));
  if (v < 0 || v > INT32_MAX) return f.Error(key, absl::StrCat("is not a valid token id: ", v));
  return static_cast<int32_t>(v);
}

absl::StatusOr<std::optional<int32_t>> OptionalTokenId(const JsonFields& f, std::string_view key) {
  TPS_ASSIGN_OR_RETURN(std::optional<int64_t> v, f.OptionalInt(key));
  if (!v.has_value()) return std::optional<int32_t>();
  if (*v < 0 || *v > INT32_MAX) return f.Error(key, absl::StrCat("is not a valid token id: ", *v));
  return std::optional<int32_t>(static_cast<int32_t>(*v));
}

absl::Status ParseLayerTypes(const JsonFields& f, TextSpec& text) {
  const Json* types = f.Find("layer_types");
  if (types == nullptr) {
    // HF: layer i is full attention iff (i + 1) % full_attention_interval == 0.
    TPS_ASSIGN_OR_RETURN(int64_t interval, DimOr(f, "full_attention_interval", 4, kMaxLayers));
    for (int64_t i = 0; i < text.num_hidden_layers; ++i) {
      text.layer_types.push_back((i + 1) % interval == 0 ? LayerKind::kFullAttention
                                                         : LayerKind::kLinearAttention);
    }
    return absl::OkStatus();
  }
  if (!types->is_array()) {
    return f.Error("layer_types",
                   absl::StrCat("must be a list of strings, got ", internal::Excerpt(*types)));
  }
  if (static_cast<int64_t>(types->size()) != text.num_hidden_layers) {
    return f.Error("layer_types",
                   absl::StrCat("has ", types->size(), " entries but num_hidden_layers is ",
                                text.num_hidden_layers));
  }
  for (size_t i = 0; i < types->size(); ++i) {
    const Json& t = (*types)[i];
    if (t.is_string() && t.get_ref<const std::string&>() == "linear_attention") {
      text.layer_types.push_back(LayerKind::kLinearAttention);
    } else if (t.is_string() && t.get_ref<const std::string&>() == "full_attention") {
      text.layer_types.push_back(LayerKind::kFullAttention);
    } else {
      return f.Error(absl::StrCat("layer_types[", i, "]"),
                     absl::StrCat("is ", internal::Excerpt(t),
                                  " (expected \"linear_attention\" or \"full_attention\")"));
    }
  }
  return absl::OkStatus();
}

// rope_parameters (or legacy rope_scaling / rope_theta), with HF's precedence: values inside the
// rope dict first, then the text_config top level, then defaults.
absl::Status ParseRope(const JsonFields& f, TextSpec& text) {
  static const Json kEmpty = Json::object();
  const char* dict_key = "rope_parameters";
  const Json* dict = f.Find("rope_parameters");
  if (dict == nullptr) {
    dict_key = "rope_scaling";
    dict = f.Find("rope_scaling");
  }
  if (dict != nullptr && !dict->is_object()) {
    return f.Error(dict_key, absl::StrCat("must be an object, got ", internal::Excerpt(*dict)));
  }
  const JsonFields rope(dict != nullptr ? *dict : kEmpty, f.source(),
                        absl::StrCat(f.path(), dict_key, "."));
  RopeSpec& r = text.rope;

  TPS_ASSIGN_OR_RETURN(std::optional<std::string> type, rope.OptionalString("rope_type"));
  if (!type.has_value()) {
    TPS_ASSIGN_OR_RETURN(type, rope.OptionalString("type"));
  }
  r.rope_type = type.value_or("default");
  if (r.rope_type == "mrope") r.rope_type = "default";  // Qwen2-VL era spelling, same math
  if (r.rope_type != "default") {
    return rope.Error("rope_type",
                      absl::StrCat("is '", r.rope_type, "' (only \"default\" rope is supported)"));
  }

  if (rope.Has("rope_theta")) {
    TPS_ASSIGN_OR_RETURN(r.rope_theta, rope.RequiredNumber("rope_theta"));
  } else if (f.Has("rope_theta")) {
    TPS_ASSIGN_OR_RETURN(r.rope_theta, f.RequiredNumber("rope_theta"));
  } else {
    return rope.Error("rope_theta", "is missing (required; Qwen3.5 uses 10000000)");
  }
  if (!(r.rope_theta > 1.0)) {
    return rope.Error("rope_theta", absl::StrCat("must be greater than 1, got ", r.rope_theta));
  }

  const JsonFields& factor_src = rope.Has("partial_rotary_factor") ? rope : f;
  TPS_ASSIGN_OR_RETURN(r.partial_rotary_factor, factor_src.NumberOr("partial_rotary_factor", 0.25));
  if (!(r.partial_rotary_factor > 0.0 && r.partial_rotary_factor <= 1.0)) {
    return factor_src.Error("partial_rotary_factor",
                            absl::StrCat("must be in (0, 1], got ", r.partial_rotary_factor));
  }

  if (const Json* sec = rope.Find("mrope_section"); sec != nullptr) {
    if (!sec->is_array() || sec->size() != 3) {
      return rope.Error("mrope_section", absl::StrCat("must be a list of 3 integers, got ",
                                                      internal::Excerpt(*sec)));
    }
    for (size_t i = 0; i < 3; ++i) {
      std::optional<int64_t> v = internal::AsInt64((*sec)[i]);
      if (!v.has_value() || *v < 0 || *v > kMaxDim) {
        return rope.Error("mrope_section", absl::StrCat("must be a list of 3 non-negative "
                                                        "integers, got ",
                                                        internal::Excerpt(*sec)));
      }
      r.mrope_section[i] = *v;
    }
  }
  TPS_ASSIGN_OR_RETURN(r.mrope_interleaved, rope.BoolOr("mrope_interleaved", true));
  if (!r.mrope_interleaved) {
    return rope.Error("mrope_interleaved",
                      "is false (expected true: Qwen3.5 uses interleaved "
                      "M-RoPE)");
  }

  // Python's int() truncates; so does the cast.
  r.rotary_dim = static_cast<int64_t>(static_cast<double>(text.head_dim) * r.partial_rotary_factor);
  if (r.rotary_dim <= 0 || r.rotary_dim % 2 != 0) {
    return factor_src.Error(
        "partial_rotary_factor",
        absl::StrCat("gives rotary_dim ", r.rotary_dim, " (head_dim ", text.head_dim, " x ",
                     r.partial_rotary_factor, "), which must be positive and even"));
  }
  const int64_t sections = r.mrope_section[0] + r.mrope_section[1] + r.mrope_section[2];
  if (2 * sections != r.rotary_dim) {
    return rope.Error("mrope_section",
                      absl::StrCat("sums to ", sections, " but rotary_dim / 2 is ",
                                   r.rotary_dim / 2, " (head_dim ", text.head_dim,
                                   " x partial_rotary_factor ", r.partial_rotary_factor, ")"));
  }
  return absl::OkStatus();
}

// `top` is the config root; for qwen3_5_text it is the same object as `f`.
absl::StatusOr<TextSpec> ParseText(const JsonFields& f, const JsonFields& top) {
  TextSpec t;
  if (f.path() != "") {
    TPS_ASSIGN_OR_RETURN(std::string mt, f.StringOr("model_type", "qwen3_5_text"));
    if (mt != "qwen3_5_text") {
      return f.Error("model_type", absl::StrCat("is '", mt, "' (expected qwen3_5_text)"));
    }
  }
  TPS_ASSIGN_OR_RETURN(int64_t num_experts, f.IntOr("num_experts", 0));
  if (num_experts > 0) return f.Error("num_experts", "is set: MoE models are not supported");

  TPS_ASSIGN_OR_RETURN(t.vocab_size, DimOr(f, "vocab_size", 248320, kMaxVocab));
  TPS_ASSIGN_OR_RETURN(t.hidden_size, RequiredDim(f, "hidden_size", kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.intermediate_size, RequiredDim(f, "intermediate_size", kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.num_hidden_layers, RequiredDim(f, "num_hidden_layers", kMaxLayers));
  TPS_ASSIGN_OR_RETURN(t.num_heads, RequiredDim(f, "num_attention_heads", kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.num_kv_heads, RequiredDim(f, "num_key_value_heads", kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.head_dim, DimOr(f, "head_dim", 256, kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.num_k_heads, DimOr(f, "linear_num_key_heads", 16, kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.num_v_heads, RequiredDim(f, "linear_num_value_heads", kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.head_k_dim, DimOr(f, "linear_key_head_dim", 128, kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.head_v_dim, DimOr(f, "linear_value_head_dim", 128, kMaxDim));
  TPS_ASSIGN_OR_RETURN(t.conv_kernel_size, DimOr(f, "linear_conv_kernel_dim", 4, 64));
  TPS_ASSIGN_OR_RETURN(t.max_position_embeddings,
                       DimOr(f, "max_position_embeddings", 32768, int64_t{1} << 40));

  if (t.num_heads % t.num_kv_heads != 0) {
    return f.Error(
        "num_attention_heads",
        absl::StrCat(t.num_heads, " is not a multiple of num_key_value_heads ", t.num_kv_heads));
  }
  if (t.num_v_heads % t.num_k_heads != 0) {
    return f.Error(
        "linear_num_value_heads",
        absl::StrCat(t.num_v_heads, " is not a multiple of linear_num_key_heads ", t.num_k_heads));
  }

  TPS_ASSIGN_OR_RETURN(t.rms_norm_eps, f.NumberOr("rms_norm_eps", 1e-6));
  if (!(t.rms_norm_eps > 0.0 && t.rms_norm_eps < 1.0)) {
    return f.Error("rms_norm_eps", absl::StrCat("must be in (0, 1), got ", t.rms_norm_eps));
  }
  TPS_ASSIGN_OR_RETURN(std::string act, f.StringOr("hidden_act", "silu"));
  if (act != "silu") return f.Error("hidden_act", absl::StrCat("is '", act, "' (expected silu)"));
  TPS_ASSIGN_OR_RETURN(bool bias, f.BoolOr("attention_bias", false));
  if (bias) return f.Error("attention_bias", "is true (expected false: no biases in Qwen3.5)");
  // HF's Qwen3.5 attention always applies the sigmoid output gate (q_proj is doubled), whatever
  // the config says; a checkpoint trained without it cannot be served correctly.
  TPS_ASSIGN_OR_RETURN(bool gate, f.BoolOr("attn_output_gate", true));
  if (!gate) return f.Error("attn_output_gate", "is false (expected true)");
  TPS_ASSIGN_OR_RETURN(t.output_gate_type, f.StringOr("output_gate_type", ""));

  TPS_RETURN_IF_ERROR(ParseLayerTypes(f, t));
  TPS_RETURN_IF_ERROR(ParseRope(f, t));

  // tie_word_embeddings: the top-level value wins when both are present.
  TPS_ASSIGN_OR_RETURN(std::optional<bool> tie_top, top.OptionalBool("tie_word_embeddings"));
  TPS_ASSIGN_OR_RETURN(std::optional<bool> tie_text, f.OptionalBool("tie_word_embeddings"));
  t.tie_word_embeddings = tie_top.value_or(tie_text.value_or(false));

  const JsonFields& eos_src = f.Has("eos_token_id") ? f : top;
  TPS_ASSIGN_OR_RETURN(std::vector<int64_t> eos, eos_src.IntOrIntList("eos_token_id"));
  for (int64_t id : eos) {
    if (id < 0 || id > INT32_MAX) {
      return eos_src.Error("eos_token_id", absl::StrCat("contains an invalid token id ", id));
    }
    t.eos_token_ids.push_back(static_cast<int32_t>(id));
  }
  TPS_ASSIGN_OR_RETURN(t.bos_token_id,
                       OptionalTokenId(f.Has("bos_token_id") ? f : top, "bos_token_id"));
  TPS_ASSIGN_OR_RETURN(t.pad_token_id,
                       OptionalTokenId(f.Has("pad_token_id") ? f : top, "pad_token_id"));

  for (const JsonFields* src : {&f, &top}) {
    for (const char* key : {"dtype", "torch_dtype"}) {
      if (t.dtype.empty()) {
        TPS_ASSIGN_OR_RETURN(t.dtype, src->StringOr(key, ""));
      }
    }
  }
  TPS_ASSIGN_OR_RETURN(t.mamba_ssm_dtype, f.StringOr("mamba_ssm_dtype", "float32"));
  TPS_ASSIGN_OR_RETURN(t.mtp_num_hidden_layers, f.IntOr("mtp_num_hidden_layers", 0));
  if (t.mtp_num_hidden_layers < 0 || t.mtp_num_hidden_layers > kMaxLayers) {
    return f.Error("mtp_num_hidden_layers",
                   absl::StrCat("must be in [0, ", kMaxLayers, "], got ", t.mtp_num_hidden_layers));
  }
  TPS_ASSIGN_OR_RETURN(t.mtp_use_dedicated_embeddings,
                       f.BoolOr("mtp_use_dedicated_embeddings", false));
  return t;
}

absl::StatusOr<VisionSpec> ParseVision(const JsonFields& f, int64_t text_hidden) {
  VisionSpec v;
  TPS_ASSIGN_OR_RETURN(std::string mt, f.StringOr("model_type", "qwen3_5"));
  if (mt != "qwen3_5" && mt != "qwen3_5_vision") {
    return f.Error("model_type",
                   absl::StrCat("is '", mt, "' (expected qwen3_5 or qwen3_5_vision)"));
  }
  // HF's attribute_map lets num_hidden_layers / num_attention_heads stand in for these.
  const char* depth_key =
      f.Has("depth") || !f.Has("num_hidden_layers") ? "depth" : "num_hidden_layers";
  const char* heads_key =
      f.Has("num_heads") || !f.Has("num_attention_heads") ? "num_heads" : "num_attention_heads";
  TPS_ASSIGN_OR_RETURN(v.depth, RequiredDim(f, depth_key, kMaxLayers));
  TPS_ASSIGN_OR_RETURN(v.hidden_size, RequiredDim(f, "hidden_size", kMaxDim));
  TPS_ASSIGN_OR_RETURN(v.num_heads, RequiredDim(f, heads_key, kMaxDim));
  TPS_ASSIGN_OR_RETURN(v.intermediate_size, RequiredDim(f, "intermediate_size", kMaxDim));
  TPS_ASSIGN_OR_RETURN(v.out_hidden_size, RequiredDim(f, "out_hidden_size", kMaxDim));
  TPS_ASSIGN_OR_RETURN(v.in_channels, DimOr(f, "in_channels", 3, 16));
  TPS_ASSIGN_OR_RETURN(v.patch_size, DimOr(f, "patch_size", 16, 1024));
  TPS_ASSIGN_OR_RETURN(v.temporal_patch_size, DimOr(f, "temporal_patch_size", 2, 64));
  TPS_ASSIGN_OR_RETURN(v.spatial_merge_size, DimOr(f, "spatial_merge_size", 2, 64));
  TPS_ASSIGN_OR_RETURN(v.num_position_embeddings,
                       DimOr(f, "num_position_embeddings", 2304, kMaxDim));
  TPS_ASSIGN_OR_RETURN(v.hidden_act, f.StringOr("hidden_act", "gelu_pytorch_tanh"));
  if (v.hidden_act != "gelu_pytorch_tanh") {
    return f.Error("hidden_act",
                   absl::StrCat("is '", v.hidden_act, "' (expected gelu_pytorch_tanh)"));
  }
  if (v.hidden_size % v.num_heads != 0) {
    return f.Error("hidden_size", absl::StrCat(v.hidden_size, " is not a multiple of ", heads_key,
                                               " ", v.num_heads));
  }
  if (v.position_grid_side() * v.position_grid_side() != v.num_position_embeddings) {
    return f.Error("num_position_embeddings",
                   absl::StrCat(v.num_position_embeddings, " is not a perfect square"));
  }
  if (v.out_hidden_size != text_hidden) {
    return f.Error(
        "out_hidden_size",
        absl::StrCat(v.out_hidden_size, " must equal the text hidden_size ", text_hidden));
  }
  if (const Json* ds = f.Find("deepstack_visual_indexes");
      ds != nullptr && !(ds->is_array() && ds->empty())) {
    return f.Error("deepstack_visual_indexes",
                   absl::StrCat("is ", internal::Excerpt(*ds), " (expected []: no DeepStack)"));
  }
  static const Json kEmpty = Json::object();
  const Json* rope = f.Find("rope_parameters");
  if (rope != nullptr && !rope->is_object()) {
    return f.Error("rope_parameters",
                   absl::StrCat("must be an object, got ", internal::Excerpt(*rope)));
  }
  const JsonFields rf(rope != nullptr ? *rope : kEmpty, f.source(),
                      absl::StrCat(f.path(), "rope_parameters."));
  TPS_ASSIGN_OR_RETURN(v.rope_theta, rf.NumberOr("rope_theta", 10000.0));
  if (!(v.rope_theta > 1.0)) return rf.Error("rope_theta", "must be greater than 1");
  return v;
}

}  // namespace

std::string_view LayerKindName(LayerKind kind) {
  return kind == LayerKind::kFullAttention ? "full_attention" : "linear_attention";
}

int64_t TextSpec::num_layers_of(LayerKind kind) const {
  int64_t n = 0;
  for (LayerKind k : layer_types) n += k == kind ? 1 : 0;
  return n;
}

int64_t VisionSpec::position_grid_side() const {
  int64_t side =
      static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(num_position_embeddings))));
  while (side > 0 && side * side > num_position_embeddings) --side;
  while ((side + 1) * (side + 1) <= num_position_embeddings) ++side;
  return side;
}

std::optional<int64_t> RegularFullAttentionInterval(const std::vector<LayerKind>& types) {
  for (int64_t k = 1; k <= static_cast<int64_t>(types.size()); ++k) {
    bool ok = true;
    for (size_t i = 0; i < types.size() && ok; ++i) {
      const bool full = (static_cast<int64_t>(i) + 1) % k == 0;
      ok = full == (types[i] == LayerKind::kFullAttention);
    }
    if (ok) return k;
  }
  return std::nullopt;
}

std::string TextWeightPrefix(const Qwen35Spec& spec) {
  return spec.model_type == "qwen3_5_text" ? "model." : "model.language_model.";
}

absl::StatusOr<Qwen35Spec> ParseQwen35Config(std::string_view json) {
  return ParseQwen35Config(json, "config.json");
}

absl::StatusOr<Qwen35Spec> ParseQwen35Config(std::string_view json, std::string_view source_name) {
  const std::string source(source_name);
  TPS_ASSIGN_OR_RETURN(Json root, internal::ParseJson(json, source));
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": expected a JSON object, got ", root.type_name()));
  }
  const JsonFields top(root, source, "");
  Qwen35Spec spec;
  TPS_ASSIGN_OR_RETURN(std::optional<std::string> model_type, top.OptionalString("model_type"));
  if (!model_type.has_value()) {
    return top.Error("model_type", "is missing (expected qwen3_5 or qwen3_5_text)");
  }
  if (*model_type != "qwen3_5" && *model_type != "qwen3_5_text") {
    return top.Error("model_type", absl::StrCat("'", *model_type,
                                                "' is not supported (expected qwen3_5 or "
                                                "qwen3_5_text)"));
  }
  spec.model_type = *model_type;
  if (const Json* arch = top.Find("architectures"); arch != nullptr) {
    if (!arch->is_array()) return top.Error("architectures", "must be a list of strings");
    for (const Json& a : *arch) {
      if (!a.is_string()) return top.Error("architectures", "must be a list of strings");
      spec.architectures.push_back(a.get<std::string>());
    }
  }

  if (spec.model_type == "qwen3_5_text") {
    TPS_ASSIGN_OR_RETURN(spec.text, ParseText(top, top));
  } else {
    const Json* text = top.Find("text_config");
    if (text == nullptr) return top.Error("text_config", "is missing (required for qwen3_5)");
    if (!text->is_object()) return top.Error("text_config", "must be an object");
    TPS_ASSIGN_OR_RETURN(spec.text, ParseText(JsonFields(*text, source, "text_config."), top));
    if (const Json* vision = top.Find("vision_config"); vision != nullptr) {
      if (!vision->is_object()) return top.Error("vision_config", "must be an object");
      TPS_ASSIGN_OR_RETURN(spec.vision, ParseVision(JsonFields(*vision, source, "vision_config."),
                                                    spec.text.hidden_size));
    }
    TPS_ASSIGN_OR_RETURN(spec.image_token_id, TokenIdOr(top, "image_token_id", 248056));
    TPS_ASSIGN_OR_RETURN(spec.video_token_id, TokenIdOr(top, "video_token_id", 248057));
    TPS_ASSIGN_OR_RETURN(spec.vision_start_token_id,
                         TokenIdOr(top, "vision_start_token_id", 248053));
    TPS_ASSIGN_OR_RETURN(spec.vision_end_token_id, TokenIdOr(top, "vision_end_token_id", 248054));
    TPS_ASSIGN_OR_RETURN(spec.language_model_only, top.BoolOr("language_model_only", false));
  }

  if (const Json* q = top.Find("quantization_config"); q != nullptr) {
    spec.quantization = "unknown";
    if (q->is_object()) {
      const JsonFields qf(*q, source, "quantization_config.");
      TPS_ASSIGN_OR_RETURN(spec.quantization, qf.StringOr("quant_method", "unknown"));
    }
  } else if (top.Has("quantization")) {
    spec.quantization = "mlx";
  }
  TPS_ASSIGN_OR_RETURN(spec.random_weights, top.BoolOr("tpserve_random_weights", false));
  return spec;
}

absl::StatusOr<Qwen35Spec> LoadQwen35Config(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  return ParseQwen35Config(buf.str(), path);
}

absl::Status ValidateQwen35Spec(const Qwen35Spec& spec) {
  // The serialised form goes through exactly the checks a file does.
  absl::StatusOr<Qwen35Spec> reparsed = ParseQwen35Config(Qwen35SpecToConfigJson(spec), "spec");
  if (!reparsed.ok()) return reparsed.status();
  if (!(*reparsed == spec)) {
    return absl::InvalidArgumentError(
        "spec: inconsistent derived fields (for example rope.rotary_dim or layer_types)");
  }
  return absl::OkStatus();
}

std::optional<DType> ConfigDTypeToDType(std::string_view name) {
  if (name == "bfloat16" || name == "bf16") return DType::kBF16;
  if (name == "float16" || name == "fp16" || name == "f16" || name == "half") return DType::kF16;
  if (name == "float32" || name == "fp32" || name == "f32" || name == "float") return DType::kF32;
  return std::nullopt;
}

}  // namespace tpserve::model
