#include "model/model_tensors.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ops/base/check.h"

namespace tpserve::model {
namespace {

class Lister {
 public:
  explicit Lister(std::vector<TensorDecl>& out) : out_(out) {}
  void Add(std::string name, std::vector<int64_t> shape, TensorPart part, TensorRole role) {
    out_.push_back(TensorDecl{std::move(name), std::move(shape), part, role});
  }

 private:
  std::vector<TensorDecl>& out_;
};

void AddTextLayer(const TextSpec& t, const std::string& p, LayerKind kind, Lister& l) {
  const int64_t h = t.hidden_size;
  l.Add(p + "input_layernorm.weight", {h}, TensorPart::kNorm, TensorRole::kZeroCentredNorm);
  if (kind == LayerKind::kLinearAttention) {
    const std::string a = p + "linear_attn.";
    constexpr TensorPart kPart = TensorPart::kLinearAttention;
    l.Add(a + "in_proj_qkv.weight", {t.conv_dim(), h}, kPart, TensorRole::kLinear);
    l.Add(a + "in_proj_z.weight", {t.value_dim(), h}, kPart, TensorRole::kLinear);
    l.Add(a + "in_proj_b.weight", {t.num_v_heads, h}, kPart, TensorRole::kLinear);
    l.Add(a + "in_proj_a.weight", {t.num_v_heads, h}, kPart, TensorRole::kLinear);
    l.Add(a + "conv1d.weight", {t.conv_dim(), 1, t.conv_kernel_size}, kPart, TensorRole::kConv);
    l.Add(a + "dt_bias", {t.num_v_heads}, kPart, TensorRole::kDtBias);
    l.Add(a + "A_log", {t.num_v_heads}, kPart, TensorRole::kALog);
    l.Add(a + "norm.weight", {t.head_v_dim}, kPart, TensorRole::kScaleNorm);
    l.Add(a + "out_proj.weight", {h, t.value_dim()}, kPart, TensorRole::kLinear);
  } else {
    const std::string a = p + "self_attn.";
    constexpr TensorPart kPart = TensorPart::kFullAttention;
    l.Add(a + "q_proj.weight", {t.q_proj_out(), h}, kPart, TensorRole::kLinear);
    l.Add(a + "k_proj.weight", {t.kv_proj_out(), h}, kPart, TensorRole::kLinear);
    l.Add(a + "v_proj.weight", {t.kv_proj_out(), h}, kPart, TensorRole::kLinear);
    l.Add(a + "o_proj.weight", {h, t.o_proj_in()}, kPart, TensorRole::kLinear);
    l.Add(a + "q_norm.weight", {t.head_dim}, kPart, TensorRole::kZeroCentredNorm);
    l.Add(a + "k_norm.weight", {t.head_dim}, kPart, TensorRole::kZeroCentredNorm);
  }
  l.Add(p + "post_attention_layernorm.weight", {h}, TensorPart::kNorm,
        TensorRole::kZeroCentredNorm);
  const std::string m = p + "mlp.";
  const int64_t i = t.intermediate_size;
  l.Add(m + "gate_proj.weight", {i, h}, TensorPart::kMlp, TensorRole::kLinear);
  l.Add(m + "up_proj.weight", {i, h}, TensorPart::kMlp, TensorRole::kLinear);
  l.Add(m + "down_proj.weight", {h, i}, TensorPart::kMlp, TensorRole::kLinear);
}

void AddVision(const VisionSpec& v, Lister& l) {
  const std::string p(kVisionWeightPrefix);
  constexpr TensorPart kV = TensorPart::kVision;
  const int64_t hv = v.hidden_size;
  l.Add(p + "patch_embed.proj.weight",
        {hv, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size}, kV,
        TensorRole::kLinear);
  l.Add(p + "patch_embed.proj.bias", {hv}, kV, TensorRole::kBias);
  l.Add(p + "pos_embed.weight", {v.num_position_embeddings, hv}, kV,
        TensorRole::kPositionEmbedding);
  for (int64_t j = 0; j < v.depth; ++j) {
    const std::string b = absl::StrCat(p, "blocks.", j, ".");
    l.Add(b + "norm1.weight", {hv}, kV, TensorRole::kScaleNorm);
    l.Add(b + "norm1.bias", {hv}, kV, TensorRole::kBias);
    l.Add(b + "attn.qkv.weight", {3 * hv, hv}, kV, TensorRole::kLinear);
    l.Add(b + "attn.qkv.bias", {3 * hv}, kV, TensorRole::kBias);
    l.Add(b + "attn.proj.weight", {hv, hv}, kV, TensorRole::kLinear);
    l.Add(b + "attn.proj.bias", {hv}, kV, TensorRole::kBias);
    l.Add(b + "norm2.weight", {hv}, kV, TensorRole::kScaleNorm);
    l.Add(b + "norm2.bias", {hv}, kV, TensorRole::kBias);
    l.Add(b + "mlp.linear_fc1.weight", {v.intermediate_size, hv}, kV, TensorRole::kLinear);
    l.Add(b + "mlp.linear_fc1.bias", {v.intermediate_size}, kV, TensorRole::kBias);
    l.Add(b + "mlp.linear_fc2.weight", {hv, v.intermediate_size}, kV, TensorRole::kLinear);
    l.Add(b + "mlp.linear_fc2.bias", {hv}, kV, TensorRole::kBias);
  }
  const int64_t mh = v.merger_hidden();
  l.Add(p + "merger.norm.weight", {hv}, kV, TensorRole::kScaleNorm);
  l.Add(p + "merger.norm.bias", {hv}, kV, TensorRole::kBias);
  l.Add(p + "merger.linear_fc1.weight", {mh, mh}, kV, TensorRole::kLinear);
  l.Add(p + "merger.linear_fc1.bias", {mh}, kV, TensorRole::kBias);
  l.Add(p + "merger.linear_fc2.weight", {v.out_hidden_size, mh}, kV, TensorRole::kLinear);
  l.Add(p + "merger.linear_fc2.bias", {v.out_hidden_size}, kV, TensorRole::kBias);
}

}  // namespace

int64_t TensorDecl::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<TensorDecl> ListQwen35Tensors(const Qwen35Spec& spec, bool include_vision) {
  std::vector<TensorDecl> out;
  Lister l(out);
  const TextSpec& t = spec.text;
  TPS_CHECK(static_cast<int64_t>(t.layer_types.size()) == t.num_hidden_layers,
            "ListQwen35Tensors needs a validated spec (layer_types size != num_hidden_layers)");
  const std::string prefix = TextWeightPrefix(spec);
  l.Add(prefix + "embed_tokens.weight", {t.vocab_size, t.hidden_size}, TensorPart::kEmbedding,
        TensorRole::kEmbedding);
  for (int64_t i = 0; i < t.num_hidden_layers; ++i) {
    AddTextLayer(t, absl::StrCat(prefix, "layers.", i, "."), t.layer_types[static_cast<size_t>(i)],
                 l);
  }
  l.Add(prefix + "norm.weight", {t.hidden_size}, TensorPart::kNorm, TensorRole::kZeroCentredNorm);
  if (!t.tie_word_embeddings) {
    l.Add("lm_head.weight", {t.vocab_size, t.hidden_size}, TensorPart::kLmHead,
          TensorRole::kLinear);
  }
  if (include_vision && spec.vision.has_value()) AddVision(*spec.vision, l);
  return out;
}

}  // namespace tpserve::model
