// VisionTower: the Qwen3.5 ViT on one rank (spec §5.3–5.7). Input: preprocessed pixel patches of
// one or more images (image_preprocess.h); output: their merged tokens, out_hidden_size wide, one
// per 2x2 patch window, images concatenated in order.
//
//   patches [N, 1536] ─ Conv3d as one MatMul (+ bias) ─ + bilinear position table ─┐
//   depth × { x += Proj(Attn(LN1(x)))   (2-D rotary on q, k; attention within each image)
//             x += FC2(gelu_tanh(FC1(LN2(x)))) }
//   LN_merger per patch → [N/4, 4·hidden] → FC1 → gelu (exact) → FC2 → [N/4, out_hidden]
//
// With weights.tp_ranks > 1 the heads and MLP columns are this rank's share and every row-parallel
// output (attention proj, fc2, merger fc2) is all-reduced through the communicator, so every rank
// ends with the same embeddings. With tp_ranks == 1 the tower runs alone (no collectives).
//
// Thread-safety: one thread at a time, the backend's thread.
#ifndef TPSERVE_VISION_VISION_TOWER_H_
#define TPSERVE_VISION_VISION_TOWER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/model_spec.h"
#include "ops/comm/communicator.h"
#include "ops/core/backend.h"
#include "vision/image_preprocess.h"
#include "vision/vision_weights.h"

namespace tpserve::vision {

// The tower's output: rows of every image in order, on the backend's device.
struct TowerOutput {
  ops::DeviceBuffer buffer;
  ops::TensorView embeddings;       // [Σ tokens, out_hidden] f32
  std::vector<int64_t> first_row;   // per image: its first row in `embeddings`
  std::vector<int64_t> num_tokens;  // per image
};

class VisionTower {
 public:
  // Checks every weight's shape against `spec` (InvalidArgument naming the tensor).
  static absl::StatusOr<std::unique_ptr<VisionTower>> Create(const model::VisionSpec& spec,
                                                             VisionWeights weights,
                                                             ops::Backend& backend);

  // Required when weights.tp_ranks > 1: the group's communicator (world size == tp_ranks).
  absl::Status set_communicator(comm::Communicator* comm);

  // Runs the tower on `images` (each from PreprocessImage with the spec's patch geometry).
  absl::StatusOr<TowerOutput> Forward(absl::Span<const PixelPatches* const> images);

  const model::VisionSpec& spec() const { return spec_; }
  ops::Backend& backend() { return backend_; }
  int tp_ranks() const { return weights_.tp_ranks; }

 private:
  VisionTower(const model::VisionSpec& spec, VisionWeights weights, ops::Backend& backend);
  absl::Status Validate() const;
  absl::Status Linear(ops::ConstTensorView x, const VisionLinear& lin, ops::TensorView out);
  absl::Status AllReduce(ops::TensorView x);
  absl::StatusOr<ops::TensorView> Alloc(DType dtype, const ops::Shape& shape,
                                        std::vector<ops::DeviceBuffer>& keep);

  model::VisionSpec spec_;
  VisionWeights weights_;
  ops::Backend& backend_;
  comm::Communicator* comm_ = nullptr;
  std::vector<float> pos_table_;  // [num_position_embeddings, hidden] f32, host copy
};

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_VISION_TOWER_H_
