#include "tools/model/inspect.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace tpserve::tools {
namespace {

std::string Ordinal(int64_t n) {
  const int64_t mod100 = n % 100;
  const char* suffix = "th";
  if (mod100 < 11 || mod100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return absl::StrCat(n, suffix);
}

// "32k" for multiples of 1024, else the plain number.
std::string FormatTokens(int64_t tokens) {
  if (tokens > 0 && tokens % 1024 == 0) return absl::StrCat(tokens / 1024, "k");
  return absl::StrCat(tokens);
}

std::string FormatParams(int64_t n) {
  if (n >= 1000000000) return absl::StrFormat("%.2f B", static_cast<double>(n) / 1e9);
  if (n >= 1000000) return absl::StrFormat("%.1f M", static_cast<double>(n) / 1e6);
  if (n >= 1000) return absl::StrFormat("%.1f K", static_cast<double>(n) / 1e3);
  return absl::StrCat(n);
}

std::string DescribeVision(const model::VisionSpec& v) {
  return absl::StrFormat(
      "%d blocks, hidden %d, %d heads (head_dim %d), mlp %d, patch %dx%dx%d, merge %dx%d -> %d, "
      "%dx%d position table",
      v.depth, v.hidden_size, v.num_heads, v.head_dim(), v.intermediate_size, v.patch_size,
      v.patch_size, v.temporal_patch_size, v.spatial_merge_size, v.spatial_merge_size,
      v.out_hidden_size, v.position_grid_side(), v.position_grid_side());
}

// 10000000 rather than StrCat's "1e+07"; non-integers keep StrCat's shortest form.
std::string FormatNumber(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)) && v < 1e15 && v > -1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrCat(v);
}

std::string DTypeLabel(DType d) { return std::string(DTypeName(d)); }

}  // namespace

std::string FormatBytes(size_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024.0 && unit < 3) {
    value /= 1024.0;
    ++unit;
  }
  if (value == static_cast<double>(static_cast<int64_t>(value))) {
    return absl::StrCat(static_cast<int64_t>(value), " ", kUnits[unit]);
  }
  const char* fmt = value < 10.0 ? "%.2f %s" : value < 100.0 ? "%.1f %s" : "%.0f %s";
  return absl::StrFormat(fmt, value, kUnits[unit]);
}

std::string DescribeLayerPattern(const model::TextSpec& text) {
  const int64_t full = text.num_layers_of(model::LayerKind::kFullAttention);
  const int64_t linear = text.num_layers_of(model::LayerKind::kLinearAttention);
  std::string s = absl::StrCat(text.num_hidden_layers, " layers: ");
  if (full == 0) return absl::StrCat(s, linear, " linear_attention");
  if (linear == 0) return absl::StrCat(s, full, " full_attention");
  absl::StrAppend(&s, linear, " linear_attention + ", full, " full_attention");
  if (std::optional<int64_t> k = model::RegularFullAttentionInterval(text.layer_types);
      k.has_value()) {
    absl::StrAppend(&s, " (every ", Ordinal(*k), ")");
  } else {
    std::vector<int64_t> at;
    for (size_t i = 0; i < text.layer_types.size(); ++i) {
      if (text.layer_types[i] == model::LayerKind::kFullAttention)
        at.push_back(static_cast<int64_t>(i));
    }
    absl::StrAppend(&s, " (full_attention at ", absl::StrJoin(at, ", "), ")");
  }
  return s;
}

std::string FormatInspectReport(const model::Qwen35Spec& spec, const model::MemoryEstimate& m,
                                const InspectOptions& options) {
  const model::TextSpec& t = spec.text;
  std::string r;
  auto line = [&r](std::string_view label, const std::string& value) {
    absl::StrAppend(&r, absl::StrFormat("  %-16s%s\n", std::string(label), value));
  };
  if (!options.model_dir.empty()) absl::StrAppend(&r, "model: ", options.model_dir, "\n");
  if (spec.random_weights) {
    absl::StrAppend(&r, "  *** RANDOM WEIGHTS (tpserve_random_weights): outputs are noise ***\n");
  }
  absl::StrAppend(&r, "architecture: ",
                  spec.architectures.empty() ? std::string("(none listed)")
                                             : absl::StrJoin(spec.architectures, ", "),
                  " (model_type ", spec.model_type, ")\n");
  line("layers", DescribeLayerPattern(t));
  line("hidden", absl::StrCat(t.hidden_size, ", intermediate ", t.intermediate_size, ", vocab ",
                              t.vocab_size, ", rms_norm_eps ", t.rms_norm_eps));
  line("attention", absl::StrCat(t.num_heads, " query heads, ", t.num_kv_heads,
                                 " kv heads, head_dim ", t.head_dim, ", sigmoid output gate"));
  line("deltanet", absl::StrCat(t.num_k_heads, " key heads x ", t.head_k_dim, ", ", t.num_v_heads,
                                " value heads x ", t.head_v_dim, ", conv kernel ",
                                t.conv_kernel_size, " (key_dim ", t.key_dim(), ", value_dim ",
                                t.value_dim(), ", conv_dim ", t.conv_dim(), ")"));
  line("rope", absl::StrCat(t.rope.rope_type, ", theta ", FormatNumber(t.rope.rope_theta),
                            ", rotary_dim ", t.rope.rotary_dim, " of ", t.head_dim, " (partial ",
                            t.rope.partial_rotary_factor, "), M-RoPE sections [",
                            absl::StrJoin(t.rope.mrope_section, ", "), "] interleaved"));
  line("context", absl::StrCat(t.max_position_embeddings, " positions"));
  line("embeddings", t.tie_word_embeddings ? "tied (lm_head = embed_tokens)" : "untied (lm_head)");
  if (!spec.vision.has_value()) {
    line("vision", "none");
  } else {
    line("vision",
         absl::StrCat(DescribeVision(*spec.vision),
                      spec.language_model_only ? " (language_model_only: not loaded)" : ""));
  }
  if (t.mtp_num_hidden_layers > 0) {
    line("mtp", absl::StrCat(t.mtp_num_hidden_layers, " layer(s), ignored"));
  }
  line("dtype", t.dtype.empty() ? std::string("(not given)") : t.dtype);
  if (!spec.quantization.empty()) line("quantization", spec.quantization);

  const model::WeightBytes& w = m.weight_bytes;
  absl::StrAppend(&r, "memory (weights ", DTypeLabel(m.weight_dtype), ", kv cache ",
                  DTypeLabel(m.kv_dtype), ", recurrent state f32):\n");
  line("parameters",
       absl::StrCat(FormatParams(m.total_params()), " (text ", FormatParams(m.text_params),
                    ", vision ", FormatParams(m.vision_params), ")"));
  line("weights", FormatBytes(w.total()));
  auto part = [&r](std::string_view label, const std::string& value) {
    absl::StrAppend(&r, absl::StrFormat("    %-18s%s\n", std::string(label), value));
  };
  part("embedding", FormatBytes(w.embedding));
  part("lm_head", t.tie_word_embeddings ? std::string("tied") : FormatBytes(w.lm_head));
  part("linear_attention", FormatBytes(w.linear_attention));
  part("full_attention", FormatBytes(w.full_attention));
  part("mlp", FormatBytes(w.mlp));
  part("norms", FormatBytes(w.norms));
  part("vision", FormatBytes(w.vision));
  const int64_t full = t.num_layers_of(model::LayerKind::kFullAttention);
  const int64_t linear = t.num_layers_of(model::LayerKind::kLinearAttention);
  line("kv cache", absl::StrCat(FormatBytes(m.kv_bytes_per_token), " per token (", full,
                                " full_attention layers), ",
                                FormatBytes(m.kv_bytes_per_token * 1024), " per 1k tokens"));
  line("deltanet state", absl::StrCat(FormatBytes(m.recurrent_state_bytes_per_sequence),
                                      " recurrent + ", FormatBytes(m.conv_state_bytes_per_sequence),
                                      " conv per sequence (", linear, " linear_attention layers)"));
  const int64_t seqs = options.num_sequences;
  const int64_t tokens = options.tokens_per_sequence;
  const size_t kv_total = static_cast<size_t>(seqs < 0 ? 0 : seqs) *
                          static_cast<size_t>(tokens < 0 ? 0 : tokens) * m.kv_bytes_per_token;
  const size_t state_total =
      static_cast<size_t>(seqs < 0 ? 0 : seqs) * m.state_bytes_per_sequence();
  absl::StrAppend(&r, "  replica for ", seqs, " sequences x ", FormatTokens(tokens),
                  " tokens: ", FormatBytes(m.ReplicaBytes(seqs, tokens)), " (weights ",
                  FormatBytes(w.total()), " + kv ", FormatBytes(kv_total), " + state ",
                  FormatBytes(state_total), "; activations not included)\n");
  return r;
}

std::string FormatInspectJson(const model::Qwen35Spec& spec, const model::MemoryEstimate& m,
                              const InspectOptions& options) {
  using Json = nlohmann::json;
  const model::TextSpec& t = spec.text;
  Json types = Json::array();
  for (model::LayerKind k : t.layer_types) types.push_back(std::string(model::LayerKindName(k)));
  Json text = {
      {"vocab_size", t.vocab_size},
      {"hidden_size", t.hidden_size},
      {"intermediate_size", t.intermediate_size},
      {"num_hidden_layers", t.num_hidden_layers},
      {"num_linear_attention_layers", t.num_layers_of(model::LayerKind::kLinearAttention)},
      {"num_full_attention_layers", t.num_layers_of(model::LayerKind::kFullAttention)},
      {"layer_pattern", DescribeLayerPattern(t)},
      {"layer_types", std::move(types)},
      {"num_attention_heads", t.num_heads},
      {"num_key_value_heads", t.num_kv_heads},
      {"head_dim", t.head_dim},
      {"linear_num_key_heads", t.num_k_heads},
      {"linear_num_value_heads", t.num_v_heads},
      {"linear_key_head_dim", t.head_k_dim},
      {"linear_value_head_dim", t.head_v_dim},
      {"linear_conv_kernel_dim", t.conv_kernel_size},
      {"key_dim", t.key_dim()},
      {"value_dim", t.value_dim()},
      {"conv_dim", t.conv_dim()},
      {"rope",
       {{"rope_type", t.rope.rope_type},
        {"rope_theta", t.rope.rope_theta},
        {"partial_rotary_factor", t.rope.partial_rotary_factor},
        {"rotary_dim", t.rope.rotary_dim},
        {"mrope_section", t.rope.mrope_section},
        {"mrope_interleaved", t.rope.mrope_interleaved}}},
      {"max_position_embeddings", t.max_position_embeddings},
      {"tie_word_embeddings", t.tie_word_embeddings},
      {"eos_token_ids", t.eos_token_ids},
      {"dtype", t.dtype},
      {"mtp_num_hidden_layers", t.mtp_num_hidden_layers},
  };
  Json vision = nullptr;
  if (spec.vision.has_value()) {
    const model::VisionSpec& v = *spec.vision;
    vision = {{"depth", v.depth},
              {"hidden_size", v.hidden_size},
              {"num_heads", v.num_heads},
              {"head_dim", v.head_dim()},
              {"intermediate_size", v.intermediate_size},
              {"patch_size", v.patch_size},
              {"temporal_patch_size", v.temporal_patch_size},
              {"spatial_merge_size", v.spatial_merge_size},
              {"num_position_embeddings", v.num_position_embeddings},
              {"out_hidden_size", v.out_hidden_size},
              {"loaded", spec.has_vision_tower()}};
  }
  const model::WeightBytes& w = m.weight_bytes;
  Json memory = {
      {"weight_dtype", DTypeLabel(m.weight_dtype)},
      {"kv_dtype", DTypeLabel(m.kv_dtype)},
      {"text_params", m.text_params},
      {"vision_params", m.vision_params},
      {"total_params", m.total_params()},
      {"weight_bytes",
       {{"embedding", w.embedding},
        {"lm_head", w.lm_head},
        {"linear_attention", w.linear_attention},
        {"full_attention", w.full_attention},
        {"mlp", w.mlp},
        {"norms", w.norms},
        {"vision", w.vision},
        {"text", w.text()},
        {"total", w.total()}}},
      {"kv_bytes_per_token", m.kv_bytes_per_token},
      {"recurrent_state_bytes_per_sequence", m.recurrent_state_bytes_per_sequence},
      {"conv_state_bytes_per_sequence", m.conv_state_bytes_per_sequence},
      {"replica",
       {{"num_sequences", options.num_sequences},
        {"tokens_per_sequence", options.tokens_per_sequence},
        {"bytes", m.ReplicaBytes(options.num_sequences, options.tokens_per_sequence)}}},
  };
  Json root = {
      {"model_dir", options.model_dir},      {"model_type", spec.model_type},
      {"architectures", spec.architectures}, {"random_weights", spec.random_weights},
      {"quantization", spec.quantization},   {"text", std::move(text)},
      {"vision", std::move(vision)},         {"memory", std::move(memory)},
  };
  return root.dump(2) + "\n";
}

}  // namespace tpserve::tools
