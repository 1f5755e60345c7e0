#include "shard/weight_loader.h"

#include <sys/mman.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/tensor_slice.h"
#include "ops/base/status_macros.h"
#include "shard/mapped_view.h"
#include "shard/shard_plan.h"

namespace tpserve::shard {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) absl::StrAppend(&s, i ? ", " : "", shape[i]);
  return s + "]";
}

bool IsMatrixDType(DType d) { return d == DType::kF32 || d == DType::kBF16 || d == DType::kF16; }

// Reads tensors of one checkpoint for one rank, tracking which names were used.
class Reader {
 public:
  Reader(const model::Checkpoint& ckpt, ops::Backend& backend, ModelWeights& out)
      : ckpt_(ckpt), backend_(backend), out_(out) {}

  // The tensor `name`, checked against `expected` shape and a matrix dtype.
  absl::StatusOr<model::TensorInfo> Get(const std::string& name,
                                        const std::vector<int64_t>& expected,
                                        const std::string& what) {
    TPS_ASSIGN_OR_RETURN(model::TensorInfo info, ckpt_.Find(name));
    used_.insert(name);
    if (info.shape != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "' (", what, ") has shape ", ShapeString(info.shape),
                       ", the config implies ", ShapeString(expected)));
    }
    TPS_ASSIGN_OR_RETURN(DType dtype, info.RequireDType());
    if (!IsMatrixDType(dtype)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", name, "' has dtype ", info.raw_dtype, " (expected F32, BF16 or F16)"));
    }
    return info;
  }

  // Rows [begin, end) of a matrix, zero-copy on host-visible backends.
  absl::StatusOr<ops::ConstTensorView> Rows(const model::TensorInfo& info, int64_t begin,
                                            int64_t end) {
    TPS_ASSIGN_OR_RETURN(MappedTensorView v, RowSliceView(info, begin, end));
    keep_.push_back(v.owner);
    const size_t bytes = static_cast<size_t>(v.view.num_elements()) * v.view.element_size();
    model::PrefetchMapped(v.view.data, bytes);
    if (backend_.host_accessible()) {
      out_.mapped_bytes += bytes;
      return v.view;
    }
    return Upload(v.view.data, v.view.dtype, v.view.shape, bytes);
  }

  // The whole tensor viewed with another shape (same element count), zero-copy on host-visible
  // backends.
  absl::StatusOr<ops::ConstTensorView> Reshaped(const model::TensorInfo& info,
                                                const ops::Shape& shape) {
    TPS_ASSIGN_OR_RETURN(MappedTensorView v, ReshapedView(info, shape));
    keep_.push_back(v.owner);
    const size_t bytes = static_cast<size_t>(v.view.num_elements()) * v.view.element_size();
    model::PrefetchMapped(v.view.data, bytes);
    if (backend_.host_accessible()) {
      out_.mapped_bytes += bytes;
      return v.view;
    }
    return Upload(v.view.data, v.view.dtype, v.view.shape, bytes);
  }

  // Slice [begin, end) along `dim`, copied into an owned buffer of `dtype`.
  absl::StatusOr<ops::ConstTensorView> Copy(const model::TensorInfo& info, int dim, int64_t begin,
                                            int64_t end, DType dtype) {
    NoteCopied(info);
    model::PrefetchMapped(info.data, info.byte_size);  // a column slice reads (part of) every page
    std::vector<int64_t> shape = info.shape;
    shape[static_cast<size_t>(dim)] = end - begin;
    ops::Shape s;
    for (size_t i = 0; i < shape.size(); ++i) s = AppendDim(s, shape[i]);
    const size_t bytes = static_cast<size_t>(s.num_elements()) * DTypeSize(dtype);
    std::vector<std::byte> host(bytes);
    TPS_RETURN_IF_ERROR(model::CopyTensorSlice(info, dim, begin, end, dtype, host.data(), bytes));
    return Upload(host.data(), dtype, s, bytes);
  }

  absl::StatusOr<ops::ConstTensorView> Upload(const void* src, DType dtype, const ops::Shape& shape,
                                              size_t bytes) {
    TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer buf,
                         backend_.Allocate(bytes, ops::BufferUsage::kWeights));
    ops::TensorView view = buf.View(dtype, shape);
    TPS_RETURN_IF_ERROR(
        backend_.Upload(absl::MakeConstSpan(static_cast<const std::byte*>(src), bytes), view));
    out_.owned.push_back(std::move(buf));
    out_.owned_bytes += bytes;
    return ops::ConstTensorView(view);
  }

  const std::set<std::string>& used() const { return used_; }
  void NoteCopied(const model::TensorInfo& info) { copied_.push_back({info.data, info.byte_size}); }

  // Drops the mapped pages of tensors that were only copied from (a row-parallel weight's column
  // slice reads every row of the tensor), so the rank's resident set is its own slices only.
  void ReleaseCopiedPages() {
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    for (const auto& [data, bytes] : copied_) {
      const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
      const uintptr_t end = reinterpret_cast<uintptr_t>(data) + bytes;
      // Pages shared with a zero-copy view are simply faulted back in when it is read.
      madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
    }
  }
  std::vector<std::shared_ptr<const model::SafetensorsFile>>& keep() { return keep_; }

 private:
  static ops::Shape AppendDim(const ops::Shape& s, int64_t d) {
    switch (s.rank()) {
      case 0:
        return ops::Shape{d};
      case 1:
        return ops::Shape{s.dim(0), d};
      case 2:
        return ops::Shape{s.dim(0), s.dim(1), d};
      default:
        return ops::Shape{s.dim(0), s.dim(1), s.dim(2), d};
    }
  }

  const model::Checkpoint& ckpt_;
  ops::Backend& backend_;
  ModelWeights& out_;
  std::set<std::string> used_;
  std::vector<std::pair<const std::byte*, size_t>> copied_;
  std::vector<std::shared_ptr<const model::SafetensorsFile>> keep_;
};

// Adds rows [begin, end) of `info` as a piece of `w`, merging with the previous piece when the two
// are adjacent in memory (so an unsharded fused projection stays one MatMul).
absl::Status AddRows(Reader& r, const model::TensorInfo& info, int64_t begin, int64_t end,
                     LinearWeight& w) {
  TPS_ASSIGN_OR_RETURN(ops::ConstTensorView v, r.Rows(info, begin, end));
  if (!w.pieces.empty()) {
    ops::ConstTensorView& last = w.pieces.back();
    const auto* last_end = static_cast<const std::byte*>(last.data) +
                           static_cast<size_t>(last.num_elements()) * last.element_size();
    if (last.dtype == v.dtype && last.dim(1) == v.dim(1) && last_end == v.data) {
      last.shape.set_dim(0, last.dim(0) + v.dim(0));
      return absl::OkStatus();
    }
  }
  w.pieces.push_back(v);
  return absl::OkStatus();
}

// A row-parallel weight [out, in]: this rank's input columns [begin, end).
absl::StatusOr<LinearWeight> ColumnSplit(Reader& r, const model::TensorInfo& info, int64_t begin,
                                         int64_t end) {
  LinearWeight w;
  if (begin == 0 && end == info.shape[1]) {
    TPS_RETURN_IF_ERROR(AddRows(r, info, 0, info.shape[0], w));
  } else {
    TPS_ASSIGN_OR_RETURN(ops::ConstTensorView v, r.Copy(info, 1, begin, end, *info.dtype));
    w.pieces.push_back(v);
  }
  return w;
}

// The dim-0 ranges of `info` gathered into one f32 copy (vectors, conv kernels).
absl::StatusOr<ops::ConstTensorView> GatherF32(Reader& r, const model::TensorInfo& info,
                                               const std::vector<SliceRange>& ranges) {
  int64_t inner = 1;
  for (size_t d = 1; d < info.shape.size(); ++d) inner *= info.shape[d];
  int64_t rows = 0;
  for (const SliceRange& range : ranges) rows += range.size();
  std::vector<float> host(static_cast<size_t>(rows * inner));
  int64_t at = 0;
  r.NoteCopied(info);
  for (const SliceRange& range : ranges) {
    TPS_RETURN_IF_ERROR(model::CopyTensorSlice(
        info, 0, range.begin, range.end, DType::kF32, host.data() + at * inner,
        static_cast<size_t>(range.size() * inner) * sizeof(float)));
    at += range.size();
  }
  const ops::Shape s = inner == 1 ? ops::Shape{rows} : ops::Shape{rows, inner};
  return r.Upload(host.data(), DType::kF32, s, host.size() * sizeof(float));
}

// This rank's share of the vision tower, split `tp` ways (rank `rank`) or whole (tp 1).
absl::StatusOr<vision::VisionWeights> LoadVision(Reader& r, const ShardPlan& plan,
                                                 const model::VisionSpec& v, int tp, int rank) {
  const std::string p(model::kVisionWeightPrefix);
  const int64_t H = v.hidden_size, I = v.intermediate_size, M = v.merger_hidden();
  vision::VisionWeights w;
  w.tp_ranks = tp;
  auto ranges_of = [&](const model::TensorInfo& info)
      -> absl::StatusOr<std::pair<ShardSpec, std::vector<SliceRange>>> {
    TPS_ASSIGN_OR_RETURN(ShardSpec s, plan.SpecFor(info.name));
    TPS_ASSIGN_OR_RETURN(std::vector<SliceRange> ranges,
                         RankRanges(s, info.shape[static_cast<size_t>(s.dim)], tp, rank));
    return std::make_pair(s, ranges);
  };
  // A bias or LayerNorm vector as an f32 copy of this rank's ranges. A row-parallel layer's bias
  // (replicated in the plan) is kept by rank 0 only, so the all-reduce adds it once.
  auto vec = [&](const std::string& name, int64_t n,
                 bool row_parallel_bias) -> absl::StatusOr<ops::ConstTensorView> {
    TPS_ASSIGN_OR_RETURN(model::TensorInfo info, r.Get(p + name, {n}, "vision vector"));
    if (row_parallel_bias && tp > 1 && rank != 0) return ops::ConstTensorView();
    TPS_ASSIGN_OR_RETURN(auto split, ranges_of(info));
    return GatherF32(r, info, split.second);
  };
  auto linear = [&](const std::string& name, int64_t out,
                    int64_t in) -> absl::StatusOr<vision::VisionLinear> {
    TPS_ASSIGN_OR_RETURN(model::TensorInfo info,
                         r.Get(p + name + ".weight", {out, in}, "vision linear"));
    TPS_ASSIGN_OR_RETURN(auto split, ranges_of(info));
    vision::VisionLinear lin;
    if (split.first.kind == SplitKind::kRow) {
      TPS_ASSIGN_OR_RETURN(LinearWeight cols,
                           ColumnSplit(r, info, split.second[0].begin, split.second[0].end));
      lin.pieces = cols.pieces;
      TPS_ASSIGN_OR_RETURN(lin.bias, vec(name + ".bias", out, /*row_parallel_bias=*/true));
    } else {
      LinearWeight rows;
      for (const SliceRange& range : split.second) {
        TPS_RETURN_IF_ERROR(AddRows(r, info, range.begin, range.end, rows));
      }
      lin.pieces = rows.pieces;
      TPS_ASSIGN_OR_RETURN(lin.bias, vec(name + ".bias", out, false));
    }
    return lin;
  };

  TPS_ASSIGN_OR_RETURN(model::TensorInfo pe,
                       r.Get(p + "patch_embed.proj.weight",
                             {H, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size},
                             "vision patch embedding"));
  TPS_ASSIGN_OR_RETURN(ops::ConstTensorView pe_view, r.Reshaped(pe, {H, v.patch_input_dim()}));
  w.patch_embed.pieces.push_back(pe_view);
  TPS_ASSIGN_OR_RETURN(w.patch_embed.bias, vec("patch_embed.proj.bias", H, false));
  TPS_ASSIGN_OR_RETURN(
      model::TensorInfo pos,
      r.Get(p + "pos_embed.weight", {v.num_position_embeddings, H}, "vision position table"));
  TPS_ASSIGN_OR_RETURN(w.pos_embed, r.Rows(pos, 0, v.num_position_embeddings));
  for (int64_t j = 0; j < v.depth; ++j) {
    const std::string b = absl::StrCat("blocks.", j, ".");
    vision::VisionBlockWeights bw;
    absl::Status st = [&]() -> absl::Status {
      TPS_ASSIGN_OR_RETURN(bw.norm1_weight, vec(b + "norm1.weight", H, false));
      TPS_ASSIGN_OR_RETURN(bw.norm1_bias, vec(b + "norm1.bias", H, false));
      TPS_ASSIGN_OR_RETURN(bw.norm2_weight, vec(b + "norm2.weight", H, false));
      TPS_ASSIGN_OR_RETURN(bw.norm2_bias, vec(b + "norm2.bias", H, false));
      TPS_ASSIGN_OR_RETURN(bw.qkv, linear(b + "attn.qkv", 3 * H, H));
      TPS_ASSIGN_OR_RETURN(bw.proj, linear(b + "attn.proj", H, H));
      TPS_ASSIGN_OR_RETURN(bw.fc1, linear(b + "mlp.linear_fc1", I, H));
      TPS_ASSIGN_OR_RETURN(bw.fc2, linear(b + "mlp.linear_fc2", H, I));
      return absl::OkStatus();
    }();
    if (!st.ok()) return Annotate(st, absl::StrCat("vision block ", j));
    w.blocks.push_back(std::move(bw));
  }
  TPS_ASSIGN_OR_RETURN(w.merger_norm_weight, vec("merger.norm.weight", H, false));
  TPS_ASSIGN_OR_RETURN(w.merger_norm_bias, vec("merger.norm.bias", H, false));
  TPS_ASSIGN_OR_RETURN(w.merger_fc1, linear("merger.linear_fc1", M, M));
  TPS_ASSIGN_OR_RETURN(w.merger_fc2, linear("merger.linear_fc2", v.out_hidden_size, M));
  return w;
}

}  // namespace

absl::StatusOr<ModelWeights> LoadModelWeights(const model::Checkpoint& ckpt,
                                              const model::Qwen35Spec& spec,
                                              const model::ParallelLayout& layout,
                                              ops::Backend& backend,
                                              const WeightLoadOptions& options) {
  const model::TextSpec& t = spec.text;
  TPS_ASSIGN_OR_RETURN(ShardPlan plan, ShardPlan::Make(spec, layout.tp_size));
  ModelWeights out;
  Reader r(ckpt, backend, out);

  // Real qwen3_5 checkpoints use model.language_model.*, Qwen3_5ForCausalLM saves model.*; accept
  // either, whatever the config's model_type says.
  std::string prefix = model::TextWeightPrefix(spec);
  if (!ckpt.Contains(prefix + "embed_tokens.weight")) {
    for (const char* p : {"model.language_model.", "model."}) {
      if (ckpt.Contains(std::string(p) + "embed_tokens.weight")) prefix = p;
    }
  }
  const int64_t H = t.hidden_size;

  // This rank's ranges of `info` along its plan's split dim.
  auto ranges_of = [&](const model::TensorInfo& info)
      -> absl::StatusOr<std::pair<ShardSpec, std::vector<SliceRange>>> {
    TPS_ASSIGN_OR_RETURN(ShardSpec s, plan.SpecFor(info.name));
    TPS_ASSIGN_OR_RETURN(
        std::vector<SliceRange> ranges,
        RankRanges(s, info.shape[static_cast<size_t>(s.dim)], layout.tp_size, layout.tp_rank));
    return std::make_pair(s, ranges);
  };
  // A [out, in] matrix: column / vocab splits are zero-copy row ranges, row splits copy columns.
  auto matrix = [&](const std::string& name, std::vector<int64_t> shape,
                    const std::string& what) -> absl::StatusOr<LinearWeight> {
    TPS_ASSIGN_OR_RETURN(model::TensorInfo info, r.Get(name, shape, what));
    TPS_ASSIGN_OR_RETURN(auto split, ranges_of(info));
    LinearWeight w;
    if (split.first.kind == SplitKind::kRow) {
      return ColumnSplit(r, info, split.second[0].begin, split.second[0].end);
    }
    for (const SliceRange& range : split.second) {
      TPS_RETURN_IF_ERROR(AddRows(r, info, range.begin, range.end, w));
    }
    return w;
  };
  // A tensor whose dim-0 ranges are gathered into one f32 copy (vectors, conv kernels).
  auto gather_f32 = [&](const std::string& name,
                        std::vector<int64_t> shape) -> absl::StatusOr<ops::ConstTensorView> {
    TPS_ASSIGN_OR_RETURN(model::TensorInfo info, r.Get(name, shape, "tensor"));
    TPS_ASSIGN_OR_RETURN(auto split, ranges_of(info));
    return GatherF32(r, info, split.second);
  };

  TPS_ASSIGN_OR_RETURN(model::TensorInfo embed,
                       r.Get(prefix + "embed_tokens.weight", {t.vocab_size, H}, "token embedding"));
  out.weight_dtype = *embed.dtype;
  TPS_ASSIGN_OR_RETURN(auto vocab, ranges_of(embed));
  TPS_ASSIGN_OR_RETURN(out.embed_tokens, r.Rows(embed, vocab.second[0].begin, vocab.second[0].end));
  out.vocab_begin = vocab.second[0].begin;
  TPS_ASSIGN_OR_RETURN(out.final_norm, gather_f32(prefix + "norm.weight", {H}));
  if (t.tie_word_embeddings) {
    out.lm_head = out.embed_tokens;
    if (ckpt.Contains("lm_head.weight"))
      r.Get("lm_head.weight", {t.vocab_size, H}, "lm_head").IgnoreError();
  } else {
    TPS_ASSIGN_OR_RETURN(model::TensorInfo head,
                         r.Get("lm_head.weight", {t.vocab_size, H}, "lm_head"));
    TPS_ASSIGN_OR_RETURN(out.lm_head, r.Rows(head, vocab.second[0].begin, vocab.second[0].end));
  }

  for (int64_t i = 0; i < t.num_hidden_layers; ++i) {
    const std::string lp = absl::StrCat(prefix, "layers.", i, ".");
    LayerWeights lw;
    lw.kind = t.layer_types[static_cast<size_t>(i)];
    absl::Status s = [&]() -> absl::Status {
      TPS_ASSIGN_OR_RETURN(lw.input_norm, gather_f32(lp + "input_layernorm.weight", {H}));
      TPS_ASSIGN_OR_RETURN(lw.post_norm, gather_f32(lp + "post_attention_layernorm.weight", {H}));
      if (lw.kind == model::LayerKind::kFullAttention) {
        const std::string ap = lp + "self_attn.";
        FullAttentionWeights& a = lw.attention;
        TPS_ASSIGN_OR_RETURN(a.q_proj, matrix(ap + "q_proj.weight", {t.q_proj_out(), H}, "q_proj"));
        TPS_ASSIGN_OR_RETURN(a.k_proj,
                             matrix(ap + "k_proj.weight", {t.kv_proj_out(), H}, "k_proj"));
        TPS_ASSIGN_OR_RETURN(a.v_proj,
                             matrix(ap + "v_proj.weight", {t.kv_proj_out(), H}, "v_proj"));
        TPS_ASSIGN_OR_RETURN(a.o_proj, matrix(ap + "o_proj.weight", {H, t.o_proj_in()}, "o_proj"));
        TPS_ASSIGN_OR_RETURN(a.q_norm, gather_f32(ap + "q_norm.weight", {t.head_dim}));
        TPS_ASSIGN_OR_RETURN(a.k_norm, gather_f32(ap + "k_norm.weight", {t.head_dim}));
      } else {
        const std::string dp = lp + "linear_attn.";
        GatedDeltaNetWeights& d = lw.delta_net;
        TPS_ASSIGN_OR_RETURN(d.in_proj_qkv,
                             matrix(dp + "in_proj_qkv.weight", {t.conv_dim(), H}, "in_proj_qkv"));
        TPS_ASSIGN_OR_RETURN(d.in_proj_z,
                             matrix(dp + "in_proj_z.weight", {t.value_dim(), H}, "in_proj_z"));
        TPS_ASSIGN_OR_RETURN(d.in_proj_b,
                             matrix(dp + "in_proj_b.weight", {t.num_v_heads, H}, "in_proj_b"));
        TPS_ASSIGN_OR_RETURN(d.in_proj_a,
                             matrix(dp + "in_proj_a.weight", {t.num_v_heads, H}, "in_proj_a"));
        TPS_ASSIGN_OR_RETURN(
            d.conv1d, gather_f32(dp + "conv1d.weight", {t.conv_dim(), 1, t.conv_kernel_size}));
        TPS_ASSIGN_OR_RETURN(d.dt_bias, gather_f32(dp + "dt_bias", {t.num_v_heads}));
        TPS_ASSIGN_OR_RETURN(d.a_log, gather_f32(dp + "A_log", {t.num_v_heads}));
        TPS_ASSIGN_OR_RETURN(d.norm, gather_f32(dp + "norm.weight", {t.head_v_dim}));
        TPS_ASSIGN_OR_RETURN(d.out_proj,
                             matrix(dp + "out_proj.weight", {H, t.value_dim()}, "out_proj"));
      }
      const std::string mp = lp + "mlp.";
      TPS_ASSIGN_OR_RETURN(lw.mlp.gate_proj,
                           matrix(mp + "gate_proj.weight", {t.intermediate_size, H}, "gate_proj"));
      TPS_ASSIGN_OR_RETURN(lw.mlp.up_proj,
                           matrix(mp + "up_proj.weight", {t.intermediate_size, H}, "up_proj"));
      TPS_ASSIGN_OR_RETURN(lw.mlp.down_proj,
                           matrix(mp + "down_proj.weight", {H, t.intermediate_size}, "down_proj"));
      return absl::OkStatus();
    }();
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("layer ", i, " (", std::string(model::LayerKindName(lw.kind)),
                                 "): ", s.message()));
    }
    out.layers.push_back(std::move(lw));
  }

  const bool vision_in_checkpoint = [&] {
    for (const std::string& name : ckpt.TensorNames()) {
      if (name.rfind(std::string(model::kVisionWeightPrefix), 0) == 0) return true;
    }
    return false;
  }();
  const bool load_vision = options.load_vision && spec.has_vision_tower() && vision_in_checkpoint;
  if (load_vision) {
    int vtp = options.vision_tp_size;
    if (vtp == 0) {
      vtp = VisionTensorParallelStatus(*spec.vision, layout.tp_size).ok() ? layout.tp_size : 1;
    }
    if (vtp != 1 && vtp != layout.tp_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("vision_tp_size ", vtp, " must be 1 or tp_size ", layout.tp_size));
    }
    if (vtp > 1) TPS_RETURN_IF_ERROR(VisionTensorParallelStatus(*spec.vision, vtp));
    TPS_ASSIGN_OR_RETURN(out.vision,
                         LoadVision(r, plan, *spec.vision, vtp, vtp > 1 ? layout.tp_rank : 0));
  }

  // Fail closed on tensors this engine would silently ignore (a layer the config does not know,
  // a bias, an unsupported variant). Vision tensors are checked when the tower is loaded.
  for (const std::string& name : ckpt.TensorNames()) {
    if (r.used().count(name)) continue;
    if (!load_vision && name.rfind(std::string(model::kVisionWeightPrefix), 0) == 0) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint tensor '", name, "' is not part of a Qwen3.5 text model with this config (",
        t.num_hidden_layers, " layers, prefix '", prefix, "')"));
  }
  r.ReleaseCopiedPages();
  out.keep_alive = std::make_shared<std::vector<std::shared_ptr<const model::SafetensorsFile>>>(
      std::move(r.keep()));
  return out;
}

}  // namespace tpserve::shard
