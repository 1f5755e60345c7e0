#include "shard/shard_plan.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"

namespace tpserve::shard {
namespace {

absl::Status Divides(int tp, int64_t count, std::string_view what) {
  return model::ParallelLayout{.tp_size = tp}.CheckDivides(count, what);
}

ShardSpec Replicated() { return ShardSpec{}; }
ShardSpec Split(SplitKind kind, int dim, std::vector<int64_t> segments, std::vector<int64_t> units,
                bool replicate_small = false) {
  return ShardSpec{kind, dim, std::move(segments), std::move(units), replicate_small};
}

}  // namespace

absl::StatusOr<std::vector<SliceRange>> RankRanges(const ShardSpec& spec, int64_t dim_size,
                                                   int tp_size, int tp_rank) {
  if (tp_rank < 0 || tp_rank >= tp_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", tp_rank, " outside tp_size ", tp_size));
  }
  if (spec.kind == SplitKind::kReplicated) return std::vector<SliceRange>{{0, dim_size}};
  if (spec.segments.size() != spec.units.size() || spec.segments.empty()) {
    return absl::InternalError("shard spec: segments and units differ in length");
  }
  std::vector<SliceRange> out;
  int64_t offset = 0;
  for (size_t i = 0; i < spec.segments.size(); ++i) {
    const int64_t seg = spec.segments[i], unit = spec.units[i];
    if (unit <= 0 || seg % unit != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("segment of ", seg, " rows is not a multiple of its unit ", unit));
    }
    const int64_t units = seg / unit;
    if (units < tp_size && spec.replicate_small) {
      if (tp_size % units != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tp_size ", tp_size, " is not a multiple of ", units, " replicated heads"));
      }
      const int64_t u = static_cast<int64_t>(tp_rank) * units / tp_size;
      out.push_back({offset + u * unit, offset + (u + 1) * unit});
    } else {
      if (units % tp_size != 0) {
        return absl::InvalidArgumentError(absl::StrCat("tp_size ", tp_size, " does not divide ",
                                                       units, " units of ", unit, " rows"));
      }
      const int64_t per = units / tp_size * unit;
      out.push_back({offset + tp_rank * per, offset + (tp_rank + 1) * per});
    }
    offset += seg;
  }
  if (offset != dim_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard spec covers ", offset, " rows of a dim of ", dim_size));
  }
  return out;
}

absl::Status VisionTensorParallelStatus(const model::VisionSpec& v, int tp_size) {
  TPS_RETURN_IF_ERROR(model::ParallelLayout{.tp_size = tp_size}.Validate());
  TPS_RETURN_IF_ERROR(Divides(tp_size, v.num_heads, "vision_config.num_heads"));
  TPS_RETURN_IF_ERROR(Divides(tp_size, v.intermediate_size, "vision_config.intermediate_size"));
  return Divides(tp_size, v.merger_hidden(), "the vision merger width");
}

namespace {

absl::StatusOr<ShardSpec> VisionSpecFor(const model::VisionSpec& v, std::string_view local) {
  const absl::string_view n(local.data(), local.size());
  auto ends = [&](absl::string_view suffix) { return absl::EndsWith(n, suffix); };
  const int64_t H = v.hidden_size, hd = v.head_dim(), I = v.intermediate_size;
  const int64_t M = v.merger_hidden();
  if (absl::StartsWith(n, "blocks.")) {
    if (ends(".attn.qkv.weight") || ends(".attn.qkv.bias")) {
      return Split(SplitKind::kColumn, 0, {H, H, H}, {hd, hd, hd});
    }
    if (ends(".attn.proj.weight")) return Split(SplitKind::kRow, 1, {H}, {hd});
    if (ends(".mlp.linear_fc1.weight") || ends(".mlp.linear_fc1.bias")) {
      return Split(SplitKind::kColumn, 0, {I}, {1});
    }
    if (ends(".mlp.linear_fc2.weight")) return Split(SplitKind::kRow, 1, {I}, {1});
    if (ends(".attn.proj.bias") || ends(".mlp.linear_fc2.bias") || ends("norm1.weight") ||
        ends("norm1.bias") || ends("norm2.weight") || ends("norm2.bias")) {
      return Replicated();
    }
  }
  if (n == "merger.linear_fc1.weight" || n == "merger.linear_fc1.bias") {
    return Split(SplitKind::kColumn, 0, {M}, {1});
  }
  if (n == "merger.linear_fc2.weight") return Split(SplitKind::kRow, 1, {M}, {1});
  if (n == "merger.linear_fc2.bias" || n == "merger.norm.weight" || n == "merger.norm.bias" ||
      n == "patch_embed.proj.weight" || n == "patch_embed.proj.bias" || n == "pos_embed.weight") {
    return Replicated();
  }
  return absl::NotFoundError(absl::StrCat("no shard rule for vision tensor '", n, "'"));
}

}  // namespace

absl::StatusOr<ShardPlan> ShardPlan::Make(const model::Qwen35Spec& spec, int tp_size) {
  TPS_RETURN_IF_ERROR(model::ParallelLayout{.tp_size = tp_size}.Validate());
  const model::TextSpec& t = spec.text;
  TPS_RETURN_IF_ERROR(Divides(tp_size, t.num_heads, "num_attention_heads"));
  if (t.num_kv_heads >= tp_size) {
    TPS_RETURN_IF_ERROR(Divides(tp_size, t.num_kv_heads, "num_key_value_heads"));
  } else if (tp_size % t.num_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("tp_size ", tp_size,
                                                   " is not a multiple of num_key_value_heads ",
                                                   t.num_kv_heads, " (needed to replicate them)"));
  }
  TPS_RETURN_IF_ERROR(Divides(tp_size, t.num_k_heads, "linear_num_key_heads"));
  TPS_RETURN_IF_ERROR(Divides(tp_size, t.intermediate_size, "intermediate_size"));
  TPS_RETURN_IF_ERROR(Divides(tp_size, t.vocab_size, "vocab_size"));
  ShardPlan plan;
  plan.spec_ = spec;
  plan.tp_size_ = tp_size;
  return plan;
}

absl::StatusOr<ShardSpec> ShardPlan::SpecFor(std::string_view name) const {
  const model::TextSpec& t = spec_.text;
  const int64_t D = t.head_dim, dk = t.head_k_dim, dv = t.head_v_dim;
  const int64_t r = t.num_v_heads / t.num_k_heads;  // value heads per key head
  const int64_t I = t.intermediate_size;
  const absl::string_view n(name.data(), name.size());
  auto ends = [&](absl::string_view suffix) { return absl::EndsWith(n, suffix); };
  if (absl::StartsWith(n, absl::string_view(model::kVisionWeightPrefix.data(),
                                            model::kVisionWeightPrefix.size()))) {
    if (!spec_.vision.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("tensor '", n, "' but the config has no vision_config"));
    }
    return VisionSpecFor(*spec_.vision, name.substr(model::kVisionWeightPrefix.size()));
  }

  if (ends("embed_tokens.weight") || name == "lm_head.weight") {
    return Split(SplitKind::kVocab, 0, {t.vocab_size}, {1});
  }
  if (ends("layernorm.weight") || ends(".norm.weight") || ends("q_norm.weight") ||
      ends("k_norm.weight") || name == "model.norm.weight") {
    return Replicated();
  }
  if (ends("self_attn.q_proj.weight"))
    return Split(SplitKind::kColumn, 0, {t.q_proj_out()}, {2 * D});
  if (ends("self_attn.k_proj.weight") || ends("self_attn.v_proj.weight")) {
    return Split(SplitKind::kColumn, 0, {t.kv_proj_out()}, {D}, /*replicate_small=*/true);
  }
  if (ends("self_attn.o_proj.weight")) return Split(SplitKind::kRow, 1, {t.o_proj_in()}, {D});
  if (ends("linear_attn.in_proj_qkv.weight") || ends("linear_attn.conv1d.weight")) {
    return Split(SplitKind::kColumn, 0, {t.key_dim(), t.key_dim(), t.value_dim()},
                 {dk, dk, r * dv});
  }
  if (ends("linear_attn.in_proj_z.weight"))
    return Split(SplitKind::kColumn, 0, {t.value_dim()}, {r * dv});
  if (ends("linear_attn.in_proj_b.weight") || ends("linear_attn.in_proj_a.weight") ||
      ends("linear_attn.dt_bias") || ends("linear_attn.A_log")) {
    return Split(SplitKind::kColumn, 0, {t.num_v_heads}, {r});
  }
  if (ends("linear_attn.out_proj.weight"))
    return Split(SplitKind::kRow, 1, {t.value_dim()}, {r * dv});
  if (ends("mlp.gate_proj.weight") || ends("mlp.up_proj.weight"))
    return Split(SplitKind::kColumn, 0, {I}, {1});
  if (ends("mlp.down_proj.weight")) return Split(SplitKind::kRow, 1, {I}, {1});
  return absl::NotFoundError(absl::StrCat("no shard rule for tensor '", std::string(name), "'"));
}

}  // namespace tpserve::shard
