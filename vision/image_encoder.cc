#include "vision/image_encoder.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "vision/image_decode.h"
#include "vision/image_preprocess.h"

namespace tpserve::vision {
namespace {

absl::StatusOr<PixelPatches> DecodeAndPreprocess(std::string_view image,
                                                 const ImageEncoderOptions& o) {
  TPS_ASSIGN_OR_RETURN(RgbImage rgb, DecodeImage(image, o.limits));
  return PreprocessImage(rgb, o.preprocess);
}

}  // namespace

std::vector<int> AssignImagesToRanks(absl::Span<const int64_t> tokens_per_image, int world_size) {
  std::vector<size_t> order(tokens_per_image.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return tokens_per_image[a] > tokens_per_image[b]; });
  std::vector<int64_t> load(static_cast<size_t>(std::max(world_size, 1)), 0);
  std::vector<int> rank(tokens_per_image.size(), 0);
  for (size_t i : order) {
    const auto best = std::min_element(load.begin(), load.end());
    rank[i] = static_cast<int>(best - load.begin());
    *best += tokens_per_image[i];
  }
  return rank;
}

ImageEncoder::ImageEncoder(std::unique_ptr<VisionTower> tower, const ImageEncoderOptions& options)
    : tower_(std::move(tower)),
      options_(options),
      parallelism_(options.world_size > 1 && tower_->tp_ranks() == 1
                       ? TowerParallelism::kDataParallel
                       : TowerParallelism::kTensorParallel) {}

absl::StatusOr<std::unique_ptr<ImageEncoder>> ImageEncoder::Create(
    std::unique_ptr<VisionTower> tower, const ImageEncoderOptions& options) {
  if (tower == nullptr) return absl::InvalidArgumentError("image encoder: no tower");
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("image encoder: rank ", options.rank, " of ", options.world_size));
  }
  if (tower->tp_ranks() != 1 && tower->tp_ranks() != options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("image encoder: the tower is split ",
                                                   tower->tp_ranks(), " ways in a group of ",
                                                   options.world_size));
  }
  const model::VisionSpec& s = tower->spec();
  const PreprocessConfig& p = options.preprocess;
  if (p.patch_size != s.patch_size || p.temporal_patch_size != s.temporal_patch_size ||
      p.merge_size != s.spatial_merge_size || s.in_channels != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image encoder: preprocessor patch ", p.patch_size, ", temporal ", p.temporal_patch_size,
        ", merge ", p.merge_size, " do not match the vision config (", s.patch_size, ", ",
        s.temporal_patch_size, ", ", s.spatial_merge_size, ", in_channels ", s.in_channels, ")"));
  }
  return std::unique_ptr<ImageEncoder>(new ImageEncoder(std::move(tower), options));
}

absl::Status ImageEncoder::set_communicator(comm::Communicator* comm) {
  if (comm != nullptr &&
      (comm->world_size() != options_.world_size || comm->rank() != options_.rank)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image encoder: communicator is rank ", comm->rank(), " of ", comm->world_size(),
        ", the encoder rank ", options_.rank, " of ", options_.world_size));
  }
  comm_ = comm;
  return tower_->set_communicator(parallelism_ == TowerParallelism::kTensorParallel ? comm
                                                                                    : nullptr);
}

absl::StatusOr<ImagePlan> ImageEncoder::Plan(std::string_view image) const {
  return PlanImage(image, options_.preprocess, options_.limits);
}

absl::StatusOr<TowerOutput> ImageEncoder::Encode(absl::Span<const std::string_view> images) {
  std::vector<ImagePlan> plans;
  for (size_t i = 0; i < images.size(); ++i) {
    absl::StatusOr<ImagePlan> plan = Plan(images[i]);
    if (!plan.ok()) return Annotate(plan.status(), absl::StrCat("image ", i));
    plans.push_back(*std::move(plan));
  }
  if (parallelism_ == TowerParallelism::kDataParallel) return EncodeDataParallel(images, plans);
  std::vector<PixelPatches> patches;
  for (size_t i = 0; i < images.size(); ++i) {
    absl::StatusOr<PixelPatches> p = DecodeAndPreprocess(images[i], options_);
    if (!p.ok()) return Annotate(p.status(), absl::StrCat("image ", i));
    patches.push_back(*std::move(p));
  }
  std::vector<const PixelPatches*> ptrs;
  for (const PixelPatches& p : patches) ptrs.push_back(&p);
  absl::StatusOr<TowerOutput> out = tower_->Forward(ptrs);
  if (out.ok()) images_run_ += static_cast<int64_t>(images.size());
  return out;
}

absl::StatusOr<TowerOutput> ImageEncoder::EncodeDataParallel(
    absl::Span<const std::string_view> images, const std::vector<ImagePlan>& plans) {
  if (comm_ == nullptr) {
    return absl::FailedPreconditionError("image encoder: data-parallel group has no communicator");
  }
  ops::Backend& backend = tower_->backend();
  const int world = options_.world_size, me = options_.rank;
  std::vector<int64_t> tokens;
  for (const ImagePlan& p : plans) tokens.push_back(p.num_tokens());
  const std::vector<int> owner = AssignImagesToRanks(tokens, world);

  // Decode this rank's images; all ranks learn whether any failed before exchanging embeddings.
  std::vector<PixelPatches> mine;
  std::vector<size_t> mine_index;
  absl::Status local;
  for (size_t i = 0; i < images.size() && local.ok(); ++i) {
    if (owner[i] != me) continue;
    absl::StatusOr<PixelPatches> p = DecodeAndPreprocess(images[i], options_);
    if (!p.ok()) {
      local = Annotate(p.status(), absl::StrCat("image ", i));
      break;
    }
    mine.push_back(*std::move(p));
    mine_index.push_back(i);
  }
  float flag_host = local.ok() ? 0.0f : static_cast<float>(me + 1);
  TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer flag_buf, backend.Allocate(4, ops::BufferUsage::kStaging));
  ops::TensorView flag = flag_buf.View(DType::kF32, {1});
  TPS_RETURN_IF_ERROR(
      backend.Upload(absl::MakeConstSpan(reinterpret_cast<const std::byte*>(&flag_host), 4), flag));
  TPS_RETURN_IF_ERROR(comm_->AllReduce(flag, comm::ReduceOp::kMax));
  TPS_RETURN_IF_ERROR(
      backend.Download(flag, absl::MakeSpan(reinterpret_cast<std::byte*>(&flag_host), 4)));
  if (!local.ok()) return local;
  if (flag_host > 0.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an image failed to decode on rank ", static_cast<int>(flag_host) - 1, " of the group"));
  }

  std::vector<const PixelPatches*> ptrs;
  for (const PixelPatches& p : mine) ptrs.push_back(&p);
  TPS_ASSIGN_OR_RETURN(TowerOutput own, tower_->Forward(ptrs));
  std::vector<int64_t> load(static_cast<size_t>(world), 0);
  for (size_t i = 0; i < images.size(); ++i) load[static_cast<size_t>(owner[i])] += tokens[i];
  const int64_t rows = std::max<int64_t>(1, *std::max_element(load.begin(), load.end()));
  const int64_t width = tower_->spec().out_hidden_size;

  // Pad this rank's rows to `rows`, all-gather, then gather every image's rows in request order
  // (the Embedding op is the device-side row gather).
  std::vector<ops::DeviceBuffer> keep;
  auto alloc = [&](DType dt, const ops::Shape& shape) -> absl::StatusOr<ops::TensorView> {
    TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer b,
                         backend.Allocate(static_cast<size_t>(shape.num_elements()) * DTypeSize(dt),
                                          ops::BufferUsage::kActivations));
    ops::TensorView v = b.View(dt, shape);
    keep.push_back(std::move(b));
    return v;
  };
  auto gather_rows = [&](ops::ConstTensorView table, const std::vector<int32_t>& ids,
                         ops::TensorView out) -> absl::Status {
    if (ids.empty()) return absl::OkStatus();
    TPS_ASSIGN_OR_RETURN(ops::TensorView ids_dev,
                         alloc(DType::kI32, {static_cast<int64_t>(ids.size())}));
    TPS_RETURN_IF_ERROR(backend.Upload(
        absl::MakeConstSpan(reinterpret_cast<const std::byte*>(ids.data()), ids.size() * 4),
        ids_dev));
    return backend.Embedding({.table = table, .ids = ids_dev, .out = out});
  };
  TPS_ASSIGN_OR_RETURN(ops::TensorView send, alloc(DType::kF32, {rows, width}));
  TPS_RETURN_IF_ERROR(backend.Fill(send, 0.0f));
  const int64_t own_rows = own.embeddings.dim(0);
  std::vector<int32_t> ids(static_cast<size_t>(own_rows));
  std::iota(ids.begin(), ids.end(), 0);
  TPS_RETURN_IF_ERROR(gather_rows(own.embeddings, ids, send.Slice(0, 0, own_rows)));
  TPS_ASSIGN_OR_RETURN(ops::TensorView all, alloc(DType::kF32, {world * rows, width}));
  TPS_RETURN_IF_ERROR(comm_->AllGather(send, all, {.timeout = options_.gather_timeout}));

  TowerOutput out;
  int64_t total = 0;
  for (int64_t t : tokens) total += t;
  TPS_ASSIGN_OR_RETURN(
      out.buffer, backend.Allocate(static_cast<size_t>(std::max<int64_t>(total, 1) * width) * 4,
                                   ops::BufferUsage::kActivations));
  out.embeddings = out.buffer.View(DType::kF32, {total, width});
  std::vector<int64_t> offset_in_rank(static_cast<size_t>(world), 0);
  ids.clear();
  for (size_t i = 0; i < images.size(); ++i) {
    const int r = owner[i];
    out.first_row.push_back(static_cast<int64_t>(ids.size()));
    out.num_tokens.push_back(tokens[i]);
    for (int64_t j = 0; j < tokens[i]; ++j) {
      ids.push_back(static_cast<int32_t>(r * rows + offset_in_rank[static_cast<size_t>(r)] + j));
    }
    offset_in_rank[static_cast<size_t>(r)] += tokens[i];
  }
  TPS_RETURN_IF_ERROR(gather_rows(all, ids, out.embeddings));
  TPS_RETURN_IF_ERROR(backend.Synchronize());
  images_run_ += static_cast<int64_t>(mine.size());
  return out;
}

}  // namespace tpserve::vision
