#include "shard/weight_loader.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "shard/tensor_slice.h"

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
  Reader(const Checkpoint& ckpt, ops::Backend& backend, ModelWeights& out)
      : ckpt_(ckpt), backend_(backend), out_(out) {}

  // The tensor `name`, checked against `expected` shape and a matrix dtype.
  absl::StatusOr<TensorInfo> Get(const std::string& name, const std::vector<int64_t>& expected,
                                 const std::string& what) {
    TPS_ASSIGN_OR_RETURN(TensorInfo info, ckpt_.Find(name));
    used_.insert(name);
    if (info.shape != expected) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' (", what, ") has shape ",
                                                     ShapeString(info.shape), ", the config implies ",
                                                     ShapeString(expected)));
    }
    TPS_ASSIGN_OR_RETURN(DType dtype, info.RequireDType());
    if (!IsMatrixDType(dtype)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has dtype ", info.raw_dtype,
                                                     " (expected F32, BF16 or F16)"));
    }
    return info;
  }

  // Rows [begin, end) of a matrix, zero-copy on host-visible backends.
  absl::StatusOr<ops::ConstTensorView> Rows(const TensorInfo& info, int64_t begin, int64_t end) {
    TPS_ASSIGN_OR_RETURN(MappedTensorView v, RowSliceView(info, begin, end));
    keep_.push_back(v.owner);
    const size_t bytes = static_cast<size_t>(v.view.num_elements()) * v.view.element_size();
    if (backend_.host_accessible()) {
      out_.mapped_bytes += bytes;
      return v.view;
    }
    return Upload(v.view.data, v.view.dtype, v.view.shape, bytes);
  }

  // Slice [begin, end) along `dim`, copied into an owned buffer of `dtype`.
  absl::StatusOr<ops::ConstTensorView> Copy(const TensorInfo& info, int dim, int64_t begin,
                                            int64_t end, DType dtype) {
    std::vector<int64_t> shape = info.shape;
    shape[static_cast<size_t>(dim)] = end - begin;
    ops::Shape s;
    for (size_t i = 0; i < shape.size(); ++i) s = AppendDim(s, shape[i]);
    const size_t bytes = static_cast<size_t>(s.num_elements()) * DTypeSize(dtype);
    std::vector<std::byte> host(bytes);
    TPS_RETURN_IF_ERROR(CopyTensorSlice(info, dim, begin, end, dtype, host.data(), bytes));
    return Upload(host.data(), dtype, s, bytes);
  }

  // A whole 1-D tensor (or a range of it) as f32.
  absl::StatusOr<ops::ConstTensorView> VectorF32(const std::string& name, int64_t expected_len,
                                                 int64_t begin, int64_t end) {
    TPS_ASSIGN_OR_RETURN(TensorInfo info, Get(name, {expected_len}, "vector"));
    return Copy(info, 0, begin, end, DType::kF32);
  }

  absl::StatusOr<ops::ConstTensorView> Upload(const void* src, DType dtype, const ops::Shape& shape,
                                              size_t bytes) {
    TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer buf, backend_.Allocate(bytes, ops::BufferUsage::kWeights));
    ops::TensorView view = buf.View(dtype, shape);
    TPS_RETURN_IF_ERROR(backend_.Upload(
        absl::MakeConstSpan(static_cast<const std::byte*>(src), bytes), view));
    out_.owned.push_back(std::move(buf));
    out_.owned_bytes += bytes;
    return ops::ConstTensorView(view);
  }

  const std::set<std::string>& used() const { return used_; }
  std::vector<std::shared_ptr<const SafetensorsFile>>& keep() { return keep_; }

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

  const Checkpoint& ckpt_;
  ops::Backend& backend_;
  ModelWeights& out_;
  std::set<std::string> used_;
  std::vector<std::shared_ptr<const SafetensorsFile>> keep_;
};

// Adds rows [begin, end) of `info` as a piece of `w`, merging with the previous piece when the two
// are adjacent in memory (so an unsharded fused projection stays one MatMul).
absl::Status AddRows(Reader& r, const TensorInfo& info, int64_t begin, int64_t end, LinearWeight& w) {
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
absl::StatusOr<LinearWeight> ColumnSplit(Reader& r, const TensorInfo& info, int64_t begin,
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

}  // namespace

absl::StatusOr<ModelWeights> LoadModelWeights(const Checkpoint& ckpt, const Qwen35Spec& spec,
                                              const ParallelLayout& layout, ops::Backend& backend) {
  const TextSpec& t = spec.text;
  ModelWeights out;
  Reader r(ckpt, backend, out);

  // Real qwen3_5 checkpoints use model.language_model.*, Qwen3_5ForCausalLM saves model.*; accept
  // either, whatever the config's model_type says.
  std::string prefix = TextWeightPrefix(spec);
  if (!ckpt.Contains(prefix + "embed_tokens.weight")) {
    for (const char* p : {"model.language_model.", "model."}) {
      if (ckpt.Contains(std::string(p) + "embed_tokens.weight")) prefix = p;
    }
  }
  const int64_t H = t.hidden_size;
  const ParallelLayout::Range vocab = layout.Split(t.vocab_size);

  TPS_ASSIGN_OR_RETURN(TensorInfo embed, r.Get(prefix + "embed_tokens.weight", {t.vocab_size, H},
                                               "token embedding"));
  out.weight_dtype = *embed.dtype;
  TPS_ASSIGN_OR_RETURN(out.embed_tokens, r.Rows(embed, vocab.begin, vocab.end));
  out.vocab_begin = vocab.begin;
  TPS_ASSIGN_OR_RETURN(out.final_norm, r.VectorF32(prefix + "norm.weight", H, 0, H));
  if (t.tie_word_embeddings) {
    out.lm_head = out.embed_tokens;
    if (ckpt.Contains("lm_head.weight")) r.Get("lm_head.weight", {t.vocab_size, H}, "lm_head").IgnoreError();
  } else {
    TPS_ASSIGN_OR_RETURN(TensorInfo head, r.Get("lm_head.weight", {t.vocab_size, H}, "lm_head"));
    TPS_ASSIGN_OR_RETURN(out.lm_head, r.Rows(head, vocab.begin, vocab.end));
  }

  const ParallelLayout::Range heads = layout.Split(t.num_heads);
  const ParallelLayout::Range kv_heads = layout.SplitOrReplicate(t.num_kv_heads);
  const ParallelLayout::Range k_heads = layout.Split(t.num_k_heads);
  const int64_t ratio = t.num_v_heads / t.num_k_heads;
  const ParallelLayout::Range v_heads{k_heads.begin * ratio, k_heads.end * ratio};
  const ParallelLayout::Range inter = layout.Split(t.intermediate_size);
  const int64_t D = t.head_dim, dk = t.head_k_dim, dv = t.head_v_dim;

  for (int64_t i = 0; i < t.num_hidden_layers; ++i) {
    const std::string lp = absl::StrCat(prefix, "layers.", i, ".");
    LayerWeights lw;
    lw.kind = t.layer_types[static_cast<size_t>(i)];
    absl::Status s = [&]() -> absl::Status {
      TPS_ASSIGN_OR_RETURN(lw.input_norm, r.VectorF32(lp + "input_layernorm.weight", H, 0, H));
      TPS_ASSIGN_OR_RETURN(lw.post_norm, r.VectorF32(lp + "post_attention_layernorm.weight", H, 0, H));
      if (lw.kind == LayerKind::kFullAttention) {
        const std::string ap = lp + "self_attn.";
        FullAttentionWeights& a = lw.attention;
        TPS_ASSIGN_OR_RETURN(TensorInfo q, r.Get(ap + "q_proj.weight", {t.q_proj_out(), H}, "q_proj"));
        TPS_RETURN_IF_ERROR(AddRows(r, q, heads.begin * 2 * D, heads.end * 2 * D, a.q_proj));
        TPS_ASSIGN_OR_RETURN(TensorInfo k, r.Get(ap + "k_proj.weight", {t.kv_proj_out(), H}, "k_proj"));
        TPS_RETURN_IF_ERROR(AddRows(r, k, kv_heads.begin * D, kv_heads.end * D, a.k_proj));
        TPS_ASSIGN_OR_RETURN(TensorInfo v, r.Get(ap + "v_proj.weight", {t.kv_proj_out(), H}, "v_proj"));
        TPS_RETURN_IF_ERROR(AddRows(r, v, kv_heads.begin * D, kv_heads.end * D, a.v_proj));
        TPS_ASSIGN_OR_RETURN(TensorInfo o, r.Get(ap + "o_proj.weight", {H, t.o_proj_in()}, "o_proj"));
        TPS_ASSIGN_OR_RETURN(a.o_proj, ColumnSplit(r, o, heads.begin * D, heads.end * D));
        TPS_ASSIGN_OR_RETURN(a.q_norm, r.VectorF32(ap + "q_norm.weight", D, 0, D));
        TPS_ASSIGN_OR_RETURN(a.k_norm, r.VectorF32(ap + "k_norm.weight", D, 0, D));
      } else {
        const std::string dp = lp + "linear_attn.";
        GatedDeltaNetWeights& d = lw.delta_net;
        const int64_t key_dim = t.key_dim();
        TPS_ASSIGN_OR_RETURN(TensorInfo qkv, r.Get(dp + "in_proj_qkv.weight", {t.conv_dim(), H},
                                                   "in_proj_qkv"));
        // [q | k | v], each head-major: take this rank's key heads of q and k and value heads of v.
        TPS_RETURN_IF_ERROR(AddRows(r, qkv, k_heads.begin * dk, k_heads.end * dk, d.in_proj_qkv));
        TPS_RETURN_IF_ERROR(AddRows(r, qkv, key_dim + k_heads.begin * dk, key_dim + k_heads.end * dk,
                                    d.in_proj_qkv));
        TPS_RETURN_IF_ERROR(AddRows(r, qkv, 2 * key_dim + v_heads.begin * dv,
                                    2 * key_dim + v_heads.end * dv, d.in_proj_qkv));
        TPS_ASSIGN_OR_RETURN(TensorInfo z, r.Get(dp + "in_proj_z.weight", {t.value_dim(), H}, "in_proj_z"));
        TPS_RETURN_IF_ERROR(AddRows(r, z, v_heads.begin * dv, v_heads.end * dv, d.in_proj_z));
        TPS_ASSIGN_OR_RETURN(TensorInfo b, r.Get(dp + "in_proj_b.weight", {t.num_v_heads, H}, "in_proj_b"));
        TPS_RETURN_IF_ERROR(AddRows(r, b, v_heads.begin, v_heads.end, d.in_proj_b));
        TPS_ASSIGN_OR_RETURN(TensorInfo a, r.Get(dp + "in_proj_a.weight", {t.num_v_heads, H}, "in_proj_a"));
        TPS_RETURN_IF_ERROR(AddRows(r, a, v_heads.begin, v_heads.end, d.in_proj_a));
        TPS_ASSIGN_OR_RETURN(TensorInfo conv, r.Get(dp + "conv1d.weight",
                                                    {t.conv_dim(), 1, t.conv_kernel_size}, "conv1d"));
        {
          // Gather the rank's channels of the three segments into one f32 [channels_local, K].
          const int64_t K = t.conv_kernel_size;
          const int64_t seg[3][2] = {{k_heads.begin * dk, k_heads.end * dk},
                                     {key_dim + k_heads.begin * dk, key_dim + k_heads.end * dk},
                                     {2 * key_dim + v_heads.begin * dv, 2 * key_dim + v_heads.end * dv}};
          int64_t rows = 0;
          for (const auto& sg : seg) rows += sg[1] - sg[0];
          std::vector<float> host(static_cast<size_t>(rows * K));
          int64_t at = 0;
          for (const auto& sg : seg) {
            const size_t bytes = static_cast<size_t>((sg[1] - sg[0]) * K) * sizeof(float);
            TPS_RETURN_IF_ERROR(CopyTensorSlice(conv, 0, sg[0], sg[1], DType::kF32,
                                                host.data() + at * K, bytes));
            at += sg[1] - sg[0];
          }
          TPS_ASSIGN_OR_RETURN(d.conv1d, r.Upload(host.data(), DType::kF32, ops::Shape{rows, K},
                                                  host.size() * sizeof(float)));
        }
        TPS_ASSIGN_OR_RETURN(d.dt_bias, r.VectorF32(dp + "dt_bias", t.num_v_heads, v_heads.begin, v_heads.end));
        TPS_ASSIGN_OR_RETURN(d.a_log, r.VectorF32(dp + "A_log", t.num_v_heads, v_heads.begin, v_heads.end));
        TPS_ASSIGN_OR_RETURN(d.norm, r.VectorF32(dp + "norm.weight", dv, 0, dv));
        TPS_ASSIGN_OR_RETURN(TensorInfo o, r.Get(dp + "out_proj.weight", {H, t.value_dim()}, "out_proj"));
        TPS_ASSIGN_OR_RETURN(d.out_proj, ColumnSplit(r, o, v_heads.begin * dv, v_heads.end * dv));
      }
      const std::string mp = lp + "mlp.";
      TPS_ASSIGN_OR_RETURN(TensorInfo g, r.Get(mp + "gate_proj.weight", {t.intermediate_size, H}, "gate_proj"));
      TPS_RETURN_IF_ERROR(AddRows(r, g, inter.begin, inter.end, lw.mlp.gate_proj));
      TPS_ASSIGN_OR_RETURN(TensorInfo u, r.Get(mp + "up_proj.weight", {t.intermediate_size, H}, "up_proj"));
      TPS_RETURN_IF_ERROR(AddRows(r, u, inter.begin, inter.end, lw.mlp.up_proj));
      TPS_ASSIGN_OR_RETURN(TensorInfo dn, r.Get(mp + "down_proj.weight", {H, t.intermediate_size}, "down_proj"));
      TPS_ASSIGN_OR_RETURN(lw.mlp.down_proj, ColumnSplit(r, dn, inter.begin, inter.end));
      return absl::OkStatus();
    }();
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("layer ", i, " (",
                                                 std::string(LayerKindName(lw.kind)), "): ",
                                                 s.message()));
    }
    out.layers.push_back(std::move(lw));
  }

  // Fail closed on tensors this engine would silently ignore (a layer the config does not know,
  // a bias, an unsupported variant). Vision tensors belong to the vision tower.
  for (const std::string& name : ckpt.TensorNames()) {
    if (r.used().count(name) || name.rfind(std::string(kVisionWeightPrefix), 0) == 0) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint tensor '", name, "' is not part of a Qwen3.5 text model with this config (",
        t.num_hidden_layers, " layers, prefix '", prefix, "')"));
  }
  out.keep_alive = std::make_shared<std::vector<std::shared_ptr<const SafetensorsFile>>>(
      std::move(r.keep()));
  return out;
}

}  // namespace tpserve::shard
