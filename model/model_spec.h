// Qwen3.5 / Qwen3.6 (dense) model facts, parsed from a Hugging Face `config.json` and validated.
//
// Accepted files (spec §1): model_type `qwen3_5` (Qwen3_5ForConditionalGeneration, with a nested
// `text_config` and an optional `vision_config`) and model_type `qwen3_5_text` (Qwen3_5ForCausalLM,
// text fields at top level). Every other model_type, and every feature the engine does not
// implement (MoE, rope scaling, an ungated attention output, attention biases, DeepStack), fails
// closed with InvalidArgument naming the field and the expected value.
//
// Defaults: fields that are constant across the family (head_dim 256, linear k heads 16, k/v head
// dims 128, conv kernel 4, rms_norm_eps 1e-6, partial_rotary_factor 0.25, mrope_section
// [11, 11, 10], full_attention_interval 4, vision patch sizes) take the Hugging Face defaults when
// absent. Fields that differ between sizes (vocab_size excepted) are required: a config that lacks
// hidden_size is broken, and loading it as HF's 4096-wide default would fail much later with a
// worse message.
//
//   ASSIGN_OR_RETURN(Qwen35Spec spec, LoadQwen35Config("/models/Qwen3.5-0.8B"));
//   for (int64_t i = 0; i < spec.text.num_hidden_layers; ++i)
//     if (spec.text.layer_types[i] == LayerKind::kFullAttention) ...
//
// All types here are plain values (copyable, comparable, thread-compatible).
#ifndef TPSERVE_MODEL_MODEL_SPEC_H_
#define TPSERVE_MODEL_MODEL_SPEC_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/base/dtype.h"

namespace tpserve::model {

enum class LayerKind : uint8_t {
  kLinearAttention,  // Gated DeltaNet ("linear_attention")
  kFullAttention,    // gated GQA softmax attention ("full_attention")
};

// "linear_attention" / "full_attention" (the config.json spelling).
std::string_view LayerKindName(LayerKind kind);

// Text rotary embedding (interleaved M-RoPE over the first rotary_dim dims of each head).
struct RopeSpec {
  std::string rope_type = "default";  // only "default" is supported
  double rope_theta = 10000000.0;
  double partial_rotary_factor = 0.25;
  std::array<int64_t, 3> mrope_section = {11, 11, 10};  // (t, h, w) frequency pairs
  bool mrope_interleaved = true;                        // HF always interleaves; false is rejected
  int64_t rotary_dim = 64;  // derived: int(head_dim * partial_rotary_factor)

  friend bool operator==(const RopeSpec&, const RopeSpec&) = default;
};

// The language model (`text_config`).
struct TextSpec {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // H
  int64_t intermediate_size = 0;  // I (SwiGLU width)
  int64_t num_hidden_layers = 0;  // L (the MTP layer is not counted)
  // Full attention (GQA with a sigmoid output gate).
  int64_t num_heads = 0;     // num_attention_heads (Hq)
  int64_t num_kv_heads = 0;  // num_key_value_heads (Hkv)
  int64_t head_dim = 256;    // D
  // Gated DeltaNet.
  int64_t num_k_heads = 16;      // linear_num_key_heads (Hk)
  int64_t num_v_heads = 0;       // linear_num_value_heads (Hv), a multiple of Hk
  int64_t head_k_dim = 128;      // linear_key_head_dim (dk)
  int64_t head_v_dim = 128;      // linear_value_head_dim (dv)
  int64_t conv_kernel_size = 4;  // linear_conv_kernel_dim

  double rms_norm_eps = 1e-6;
  int64_t max_position_embeddings = 32768;
  std::vector<LayerKind> layer_types;  // [num_hidden_layers]
  RopeSpec rope;
  bool tie_word_embeddings = false;    // top-level value wins over text_config's
  std::vector<int32_t> eos_token_ids;  // may be empty (fixtures carry null)
  std::optional<int32_t> bos_token_id;
  std::optional<int32_t> pad_token_id;
  std::string dtype;  // "bfloat16", "float32", ... as written ("" when absent)
  std::string mamba_ssm_dtype = "float32";
  int64_t mtp_num_hidden_layers = 0;
  bool mtp_use_dedicated_embeddings = false;
  // Informational: Qwen3.6 writes "swish" but HF ignores it and always gates with a sigmoid.
  std::string output_gate_type;

  // Derived dimensions (spec §1.5).
  int64_t key_dim() const { return num_k_heads * head_k_dim; }
  int64_t value_dim() const { return num_v_heads * head_v_dim; }
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
  int64_t q_proj_out() const { return 2 * num_heads * head_dim; }  // per head [query | gate]
  int64_t kv_proj_out() const { return num_kv_heads * head_dim; }
  int64_t o_proj_in() const { return num_heads * head_dim; }
  int64_t num_layers_of(LayerKind kind) const;

  friend bool operator==(const TextSpec&, const TextSpec&) = default;
};

// The vision tower (`vision_config`): a pre-LN ViT plus a 2x2 patch merger.
struct VisionSpec {
  int64_t depth = 0;
  int64_t hidden_size = 0;  // Hvis
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t in_channels = 3;
  int64_t patch_size = 16;
  int64_t temporal_patch_size = 2;
  int64_t spatial_merge_size = 2;
  int64_t num_position_embeddings = 2304;  // a perfect square (48 x 48 learned table)
  int64_t out_hidden_size = 0;             // == text hidden_size
  std::string hidden_act = "gelu_pytorch_tanh";
  double rope_theta = 10000.0;

  int64_t head_dim() const { return hidden_size / num_heads; }
  int64_t merger_hidden() const { return hidden_size * spatial_merge_size * spatial_merge_size; }
  int64_t patch_input_dim() const {  // Conv3d fan-in: C * T * P * P
    return in_channels * temporal_patch_size * patch_size * patch_size;
  }
  int64_t position_grid_side() const;  // sqrt(num_position_embeddings)

  friend bool operator==(const VisionSpec&, const VisionSpec&) = default;
};

struct Qwen35Spec {
  std::string model_type = "qwen3_5";  // "qwen3_5" or "qwen3_5_text"
  std::vector<std::string> architectures;
  TextSpec text;
  std::optional<VisionSpec> vision;  // absent for qwen3_5_text or a config without vision_config
  bool language_model_only = false;  // Qwen3.6 field: true means no vision weights are shipped
  int32_t image_token_id = 248056;
  int32_t video_token_id = 248057;
  int32_t vision_start_token_id = 248053;
  int32_t vision_end_token_id = 248054;
  // quant_method of `quantization_config` ("fp8", ...) or "mlx" for an MLX `quantization` block;
  // empty for plain weights. Parsed so tools can report it; the loader checks tensor dtypes.
  std::string quantization;
  bool random_weights = false;  // "tpserve_random_weights": true (weights are noise)

  // True when the config describes a vision tower whose weights should be in the checkpoint.
  bool has_vision_tower() const { return vision.has_value() && !language_model_only; }

  friend bool operator==(const Qwen35Spec&, const Qwen35Spec&) = default;
};

// The k for which layer i is full attention iff (i + 1) % k == 0, or nullopt when `types` follows
// no such pattern (including when no layer is full attention).
std::optional<int64_t> RegularFullAttentionInterval(const std::vector<LayerKind>& types);

// Prefix of the language-model tensors: "model.language_model." for qwen3_5 checkpoints,
// "model." for qwen3_5_text (Qwen3_5ForCausalLM) ones. lm_head is "lm_head.weight" in both.
std::string TextWeightPrefix(const Qwen35Spec& spec);
inline constexpr std::string_view kVisionWeightPrefix = "model.visual.";

// Parses and validates config.json text. Errors are InvalidArgument and start with "config.json: ".
absl::StatusOr<Qwen35Spec> ParseQwen35Config(std::string_view json);
// Same, with `source_name` (for example a path) in place of "config.json" in error messages.
absl::StatusOr<Qwen35Spec> ParseQwen35Config(std::string_view json, std::string_view source_name);
// Reads `model_dir`/config.json (NotFound naming the path when missing).
absl::StatusOr<Qwen35Spec> LoadQwen35Config(const std::string& model_dir);

// Checks the invariants ParseQwen35Config guarantees (for specs built in code, e.g. presets with
// edits). Recomputes nothing: rotary_dim must already be consistent.
absl::Status ValidateQwen35Spec(const Qwen35Spec& spec);

// Serialises to a Hugging Face style config.json (sorted keys, 2-space indent) that
// ParseQwen35Config reads back to an equal spec.
std::string Qwen35SpecToConfigJson(const Qwen35Spec& spec);

// The published sizes (spec §1.4): "0.8b", "2b", "4b", "9b", "27b", "3.6-27b". Each is a qwen3_5
// spec with its vision tower, layer_types every 4th full, eos 248044, dtype bfloat16.
// Qwen35Preset also accepts "tiny" (not listed by Qwen35PresetNames): the real vocabulary and token
// ids on a 64-wide, 4-layer body — a fast stand-in for service tests and demos.
absl::StatusOr<Qwen35Spec> Qwen35Preset(std::string_view name);
std::vector<std::string> Qwen35PresetNames();

// "bfloat16"/"float16"/"float32" (also "bf16", "fp16", "f32", ...) -> DType; nullopt otherwise.
std::optional<DType> ConfigDTypeToDType(std::string_view name);

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_MODEL_SPEC_H_
