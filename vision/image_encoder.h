// ImageEncoder: encoded image bytes → image embeddings on every rank of a group. Each rank decodes
// and preprocesses the images itself (pixels never cross a process boundary), then either
//   - tensor parallel: every rank runs its shard of the tower on all images (partial sums
//     all-reduced inside the tower), or
//   - data parallel: images are spread over the ranks (largest first, to the least loaded rank),
//     each rank runs the whole tower on its own images, and the merged embeddings are all-gathered.
// Either way every rank ends with the same embeddings, in the order the images were given.
//
// Thread-safety: one thread at a time (the model's step thread).
#ifndef TPSERVE_VISION_IMAGE_ENCODER_H_
#define TPSERVE_VISION_IMAGE_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "ops/comm/communicator.h"
#include "vision/image_limits.h"
#include "vision/image_plan.h"
#include "vision/preprocess_config.h"
#include "vision/vision_tower.h"

namespace tpserve::vision {

enum class TowerParallelism : uint8_t {
  kTensorParallel,  // heads and MLP split across the group (weights.tp_ranks == world size)
  kDataParallel,    // every rank holds the whole tower; images spread across ranks
};

struct ImageEncoderOptions {
  PreprocessConfig preprocess;
  ImageLimits limits;
  int rank = 0;
  int world_size = 1;
  // Data parallel: how long a rank may wait in the all-gather for the slowest rank's tower (a
  // large image through a 27-block tower on a CPU takes minutes; the group's default collective
  // timeout is meant for lock-step layers).
  absl::Duration gather_timeout = absl::Minutes(30);
};

class ImageEncoder {
 public:
  // The tower must match the mode: split world_size ways (TP) or whole (DP, or world_size 1).
  static absl::StatusOr<std::unique_ptr<ImageEncoder>> Create(std::unique_ptr<VisionTower> tower,
                                                              const ImageEncoderOptions& options);

  // Required when world_size > 1.
  absl::Status set_communicator(comm::Communicator* comm);

  // The header-only plan of one image (grid, token count), with this encoder's settings.
  absl::StatusOr<ImagePlan> Plan(std::string_view image) const;

  // Embeddings of `images` (PNG / JPEG / WebP bytes), images concatenated in order. Every rank of
  // the group must call this with the same images. A corrupt image is InvalidArgument on every
  // rank (in data-parallel mode the ranks agree on failure before exchanging embeddings).
  absl::StatusOr<TowerOutput> Encode(absl::Span<const std::string_view> images);

  TowerParallelism parallelism() const { return parallelism_; }
  // Images this rank has run through its tower since creation: every image of every call in
  // tensor-parallel mode (each rank runs its shard on all of them), only its own in data-parallel
  // mode. Successful calls only.
  int64_t images_run() const { return images_run_; }
  const ImageEncoderOptions& options() const { return options_; }
  VisionTower& tower() { return *tower_; }

 private:
  ImageEncoder(std::unique_ptr<VisionTower> tower, const ImageEncoderOptions& options);
  absl::StatusOr<TowerOutput> EncodeDataParallel(absl::Span<const std::string_view> images,
                                                 const std::vector<ImagePlan>& plans);

  std::unique_ptr<VisionTower> tower_;
  ImageEncoderOptions options_;
  TowerParallelism parallelism_;
  comm::Communicator* comm_ = nullptr;
  int64_t images_run_ = 0;
};

// Data-parallel assignment: rank of each image, balancing token counts (largest image first to
// the least loaded rank, ties to the lower image index and rank). Deterministic.
std::vector<int> AssignImagesToRanks(absl::Span<const int64_t> tokens_per_image, int world_size);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_IMAGE_ENCODER_H_
