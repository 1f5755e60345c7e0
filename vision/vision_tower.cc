#include "vision/vision_tower.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "vision/patch_positions.h"

namespace tpserve::vision {
namespace {

std::string Dims(const ops::ConstTensorView& v) { return v.shape.ToString(); }

absl::Status CheckLinear(const char* name, const VisionLinear& lin, int64_t out, int64_t in,
                         bool bias_required) {
  if (lin.pieces.empty() || lin.out_features() != out || lin.in_features() != in) {
    return absl::InvalidArgumentError(absl::StrCat("vision tower: ", name, " weight is [",
                                                   lin.out_features(), ", ", lin.in_features(),
                                                   "], expected [", out, ", ", in, "]"));
  }
  for (const auto& p : lin.pieces) {
    if (p.rank() != 2 || p.dim(1) != in || !p.is_contiguous()) {
      return absl::InvalidArgumentError(absl::StrCat("vision tower: ", name, " piece ", Dims(p),
                                                     " is not a contiguous [rows, ", in, "]"));
    }
  }
  if (lin.bias.empty() ? bias_required
                       : (lin.bias.num_elements() != out || lin.bias.dtype != DType::kF32)) {
    return absl::InvalidArgumentError(absl::StrCat("vision tower: ", name, " bias ",
                                                   lin.bias.empty() ? "missing" : Dims(lin.bias),
                                                   ", expected f32[", out, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckVector(const char* name, const ops::ConstTensorView& v, int64_t n) {
  if (v.empty() || v.num_elements() != n || v.dtype != DType::kF32) {
    return absl::InvalidArgumentError(absl::StrCat("vision tower: ", name, " is ",
                                                   v.empty() ? "missing" : Dims(v),
                                                   ", expected f32[", n, "]"));
  }
  return absl::OkStatus();
}

}  // namespace

VisionTower::VisionTower(const model::VisionSpec& spec, VisionWeights weights,
                         ops::Backend& backend)
    : spec_(spec), weights_(std::move(weights)), backend_(backend) {}

absl::StatusOr<std::unique_ptr<VisionTower>> VisionTower::Create(const model::VisionSpec& spec,
                                                                 VisionWeights weights,
                                                                 ops::Backend& backend) {
  std::unique_ptr<VisionTower> t(new VisionTower(spec, std::move(weights), backend));
  TPS_RETURN_IF_ERROR(t->Validate());
  // The position table is interpolated on the host per image (a few gathers per patch).
  const ops::ConstTensorView& pe = t->weights_.pos_embed;
  std::vector<std::byte> raw(static_cast<size_t>(pe.num_elements()) * pe.element_size());
  TPS_RETURN_IF_ERROR(backend.Download(pe, absl::MakeSpan(raw)));
  t->pos_table_.resize(static_cast<size_t>(pe.num_elements()));
  for (size_t i = 0; i < t->pos_table_.size(); ++i) {
    switch (pe.dtype) {
      case DType::kBF16: {
        uint16_t b;
        std::memcpy(&b, raw.data() + 2 * i, 2);
        t->pos_table_[i] = Bf16ToF32(b);
        break;
      }
      case DType::kF16: {
        uint16_t h;
        std::memcpy(&h, raw.data() + 2 * i, 2);
        t->pos_table_[i] = F16ToF32(h);
        break;
      }
      default:
        std::memcpy(&t->pos_table_[i], raw.data() + 4 * i, 4);
    }
  }
  return t;
}

absl::Status VisionTower::Validate() const {
  const model::VisionSpec& s = spec_;
  const int tp = weights_.tp_ranks;
  if (tp < 1 || s.num_heads % tp != 0 || s.intermediate_size % tp != 0 ||
      s.merger_hidden() % tp != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "vision tower: ", tp, " ranks do not divide num_heads ", s.num_heads,
        ", intermediate_size ", s.intermediate_size, " and the merger width ", s.merger_hidden()));
  }
  if (s.head_dim() % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("vision tower: head_dim ", s.head_dim(),
                                                   " must be a multiple of 4 (2-D rotary)"));
  }
  const int64_t h = s.hidden_size, local = s.hidden_size / tp;
  TPS_RETURN_IF_ERROR(
      CheckLinear("patch_embed", weights_.patch_embed, h, s.patch_input_dim(), true));
  if (weights_.pos_embed.rank() != 2 || weights_.pos_embed.dim(0) != s.num_position_embeddings ||
      weights_.pos_embed.dim(1) != h || !weights_.pos_embed.is_contiguous()) {
    return absl::InvalidArgumentError(absl::StrCat("vision tower: pos_embed is ",
                                                   Dims(weights_.pos_embed), ", expected [",
                                                   s.num_position_embeddings, ", ", h, "]"));
  }
  if (static_cast<int64_t>(weights_.blocks.size()) != s.depth) {
    return absl::InvalidArgumentError(absl::StrCat("vision tower: ", weights_.blocks.size(),
                                                   " blocks, config depth is ", s.depth));
  }
  for (size_t i = 0; i < weights_.blocks.size(); ++i) {
    const VisionBlockWeights& b = weights_.blocks[i];
    absl::Status st = [&]() -> absl::Status {
      TPS_RETURN_IF_ERROR(CheckVector("norm1.weight", b.norm1_weight, h));
      TPS_RETURN_IF_ERROR(CheckVector("norm1.bias", b.norm1_bias, h));
      TPS_RETURN_IF_ERROR(CheckVector("norm2.weight", b.norm2_weight, h));
      TPS_RETURN_IF_ERROR(CheckVector("norm2.bias", b.norm2_bias, h));
      TPS_RETURN_IF_ERROR(CheckLinear("attn.qkv", b.qkv, 3 * local, h, true));
      TPS_RETURN_IF_ERROR(CheckLinear("attn.proj", b.proj, h, local, false));
      TPS_RETURN_IF_ERROR(CheckLinear("mlp.linear_fc1", b.fc1, s.intermediate_size / tp, h, true));
      return CheckLinear("mlp.linear_fc2", b.fc2, h, s.intermediate_size / tp, false);
    }();
    if (!st.ok()) return Annotate(st, absl::StrCat("block ", i));
  }
  TPS_RETURN_IF_ERROR(CheckVector("merger.norm.weight", weights_.merger_norm_weight, h));
  TPS_RETURN_IF_ERROR(CheckVector("merger.norm.bias", weights_.merger_norm_bias, h));
  const int64_t mh = s.merger_hidden();
  TPS_RETURN_IF_ERROR(CheckLinear("merger.linear_fc1", weights_.merger_fc1, mh / tp, mh, true));
  return CheckLinear("merger.linear_fc2", weights_.merger_fc2, s.out_hidden_size, mh / tp, false);
}

absl::Status VisionTower::set_communicator(comm::Communicator* comm) {
  if (comm != nullptr && weights_.tp_ranks > 1 && comm->world_size() != weights_.tp_ranks) {
    return absl::InvalidArgumentError(
        absl::StrCat("vision tower: communicator has ", comm->world_size(),
                     " ranks, the tower is split ", weights_.tp_ranks, " ways"));
  }
  comm_ = comm;
  return absl::OkStatus();
}

absl::Status VisionTower::Linear(ops::ConstTensorView x, const VisionLinear& lin,
                                 ops::TensorView out) {
  int64_t col = 0;
  for (const ops::ConstTensorView& w : lin.pieces) {
    const int64_t n = w.dim(0);
    ops::MatMulArgs m{.x = x, .w = w, .out = out.Slice(1, col, col + n)};
    if (!lin.bias.empty()) m.bias = lin.bias.Slice(0, col, col + n);
    TPS_RETURN_IF_ERROR(backend_.MatMul(m));
    col += n;
  }
  return absl::OkStatus();
}

absl::Status VisionTower::AllReduce(ops::TensorView x) {
  if (weights_.tp_ranks == 1) return absl::OkStatus();
  if (comm_ == nullptr) {
    return absl::FailedPreconditionError("vision tower: sharded tower has no communicator");
  }
  return comm_->AllReduce(x, comm::ReduceOp::kSum);
}

absl::StatusOr<ops::TensorView> VisionTower::Alloc(DType dtype, const ops::Shape& shape,
                                                   std::vector<ops::DeviceBuffer>& keep) {
  TPS_ASSIGN_OR_RETURN(
      ops::DeviceBuffer buf,
      backend_.Allocate(static_cast<size_t>(shape.num_elements()) * DTypeSize(dtype),
                        ops::BufferUsage::kActivations));
  ops::TensorView v = buf.View(dtype, shape);
  keep.push_back(std::move(buf));
  return v;
}

absl::StatusOr<TowerOutput> VisionTower::Forward(absl::Span<const PixelPatches* const> images) {
  const model::VisionSpec& s = spec_;
  const int tp = weights_.tp_ranks;
  const int64_t hidden = s.hidden_size, heads = s.num_heads / tp, hd = s.head_dim();
  const int64_t inter = s.intermediate_size / tp, mh = s.merger_hidden();
  const int64_t unit = s.spatial_merge_size * s.spatial_merge_size;
  const int64_t in_dim = s.patch_input_dim();

  TowerOutput result;
  std::vector<ImageGrid> grids;
  std::vector<int32_t> seq_starts = {0};
  int64_t n = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const PixelPatches& p = *images[i];
    const int64_t np = p.grid.num_patches();
    if (p.grid.merge != s.spatial_merge_size || np % unit != 0 || np <= 0 ||
        p.values.size() != static_cast<size_t>(np * in_dim)) {
      return absl::InvalidArgumentError(
          absl::StrCat("vision tower: image ", i, " has ", p.values.size(), " values for a ",
                       p.grid.t, "x", p.grid.h, "x", p.grid.w, " grid (", in_dim,
                       " per patch, merge ", s.spatial_merge_size, ")"));
    }
    grids.push_back(p.grid);
    // Each frame is its own attention segment (spec §5.6).
    for (int64_t t = 0; t < p.grid.t; ++t) {
      n += p.grid.h * p.grid.w;
      if (n > (int64_t{1} << 30))
        return absl::InvalidArgumentError("vision tower: too many patches");
      seq_starts.push_back(static_cast<int32_t>(n));
    }
    result.first_row.push_back(static_cast<int64_t>(
        result.num_tokens.empty() ? 0 : result.first_row.back() + result.num_tokens.back()));
    result.num_tokens.push_back(np / unit);
  }
  const int64_t tokens = n / unit;
  TPS_ASSIGN_OR_RETURN(result.buffer,
                       backend_.Allocate(static_cast<size_t>(tokens * s.out_hidden_size) * 4,
                                         ops::BufferUsage::kActivations));
  result.embeddings = result.buffer.View(DType::kF32, {tokens, s.out_hidden_size});
  if (n == 0) return result;

  std::vector<ops::DeviceBuffer> keep;
  auto upload = [&](const void* data, DType dtype,
                    const ops::Shape& shape) -> absl::StatusOr<ops::TensorView> {
    TPS_ASSIGN_OR_RETURN(ops::TensorView v, Alloc(dtype, shape, keep));
    TPS_RETURN_IF_ERROR(backend_.Upload(
        absl::MakeConstSpan(static_cast<const std::byte*>(data),
                            static_cast<size_t>(shape.num_elements()) * DTypeSize(dtype)),
        v));
    return v;
  };
  // Patch embedding: the Conv3d with kernel == stride is one MatMul over flattened patches.
  std::vector<float> pixels;
  pixels.reserve(static_cast<size_t>(n * in_dim));
  for (const PixelPatches* p : images)
    pixels.insert(pixels.end(), p->values.begin(), p->values.end());
  TPS_ASSIGN_OR_RETURN(ops::TensorView px, upload(pixels.data(), DType::kF32, {n, in_dim}));
  pixels = {};
  TPS_ASSIGN_OR_RETURN(ops::TensorView x, Alloc(DType::kF32, {n, hidden}, keep));
  TPS_RETURN_IF_ERROR(Linear(px, weights_.patch_embed, x));
  {
    const std::vector<float> pos =
        InterpolatePositionEmbedding(grids, pos_table_.data(), s.position_grid_side(), hidden);
    TPS_ASSIGN_OR_RETURN(ops::TensorView pe, upload(pos.data(), DType::kF32, {n, hidden}));
    TPS_RETURN_IF_ERROR(backend_.Add({.a = x, .b = pe, .out = x}));
  }
  const std::vector<int32_t> rot = RotaryPositions(grids);
  TPS_ASSIGN_OR_RETURN(ops::TensorView rot_dev, upload(rot.data(), DType::kI32, {n, 2}));
  TPS_ASSIGN_OR_RETURN(ops::TensorView starts, upload(seq_starts.data(), DType::kI32,
                                                      {static_cast<int64_t>(seq_starts.size())}));

  TPS_ASSIGN_OR_RETURN(ops::TensorView normed, Alloc(DType::kF32, {n, hidden}, keep));
  TPS_ASSIGN_OR_RETURN(ops::TensorView branch, Alloc(DType::kF32, {n, hidden}, keep));
  TPS_ASSIGN_OR_RETURN(ops::TensorView qkv, Alloc(DType::kF32, {n, 3 * heads * hd}, keep));
  TPS_ASSIGN_OR_RETURN(ops::TensorView attn, Alloc(DType::kF32, {n, heads, hd}, keep));
  TPS_ASSIGN_OR_RETURN(ops::TensorView mlp,
                       Alloc(DType::kF32, {n, std::max(inter, mh / tp)}, keep));
  const std::array<int64_t, 4> head_strides = {3 * heads * hd, hd, 1, 0};
  const auto head_view = [&](int part) {
    return ops::TensorView(static_cast<float*>(qkv.data) + part * heads * hd, DType::kF32,
                           {n, heads, hd}, head_strides);
  };
  const float eps = 1e-6f;
  const float theta = static_cast<float>(s.rope_theta);
  for (size_t bi = 0; bi < weights_.blocks.size(); ++bi) {
    const VisionBlockWeights& b = weights_.blocks[bi];
    absl::Status st = [&]() -> absl::Status {
      TPS_RETURN_IF_ERROR(backend_.LayerNorm(
          {.x = x, .weight = b.norm1_weight, .bias = b.norm1_bias, .out = normed, .eps = eps}));
      TPS_RETURN_IF_ERROR(Linear(normed, b.qkv, qkv));
      ops::TensorView q = head_view(0), k = head_view(1), v = head_view(2);
      TPS_RETURN_IF_ERROR(backend_.Rope2d({.x = q, .positions = rot_dev, .theta = theta}));
      TPS_RETURN_IF_ERROR(backend_.Rope2d({.x = k, .positions = rot_dev, .theta = theta}));
      TPS_RETURN_IF_ERROR(
          backend_.SegmentAttention({.q = q,
                                     .k = k,
                                     .v = v,
                                     .seq_starts = starts,
                                     .out = attn,
                                     .scale = 1.0f / std::sqrt(static_cast<float>(hd))}));
      TPS_RETURN_IF_ERROR(Linear(attn.Reshape({n, heads * hd}), b.proj, branch));
      TPS_RETURN_IF_ERROR(AllReduce(branch));
      TPS_RETURN_IF_ERROR(backend_.Add({.a = x, .b = branch, .out = x}));
      TPS_RETURN_IF_ERROR(backend_.LayerNorm(
          {.x = x, .weight = b.norm2_weight, .bias = b.norm2_bias, .out = normed, .eps = eps}));
      ops::TensorView up = mlp.Slice(1, 0, inter);
      TPS_RETURN_IF_ERROR(Linear(normed, b.fc1, up));
      TPS_RETURN_IF_ERROR(backend_.Gelu({.x = up, .out = up, .tanh_approximation = true}));
      TPS_RETURN_IF_ERROR(Linear(up, b.fc2, branch));
      TPS_RETURN_IF_ERROR(AllReduce(branch));
      return backend_.Add({.a = x, .b = branch, .out = x});
    }();
    if (!st.ok()) return Annotate(st, absl::StrCat("vision block ", bi));
  }
  // Merger: LayerNorm per patch, then each 2x2 window's four patches side by side.
  TPS_RETURN_IF_ERROR(backend_.LayerNorm({.x = x,
                                          .weight = weights_.merger_norm_weight,
                                          .bias = weights_.merger_norm_bias,
                                          .out = normed,
                                          .eps = eps}));
  const ops::TensorView windows = normed.Reshape({tokens, mh});
  ops::TensorView mid = ops::TensorView(mlp.data, DType::kF32, {tokens, mh / tp});
  TPS_RETURN_IF_ERROR(Linear(windows, weights_.merger_fc1, mid));
  TPS_RETURN_IF_ERROR(backend_.Gelu({.x = mid, .out = mid, .tanh_approximation = false}));
  TPS_RETURN_IF_ERROR(Linear(mid, weights_.merger_fc2, result.embeddings));
  TPS_RETURN_IF_ERROR(AllReduce(result.embeddings));
  TPS_RETURN_IF_ERROR(backend_.Synchronize());
  return result;
}

}  // namespace tpserve::vision
