// What an image becomes, from its header alone: the resized size, the patch grid and the number of
// image tokens it takes in the prompt. The coordinator calls PlanImage to expand placeholders and
// check the context budget without decoding; workers reach the same numbers after decoding. No
// device code.
//
//   ASSIGN_OR_RETURN(ImagePlan plan, PlanImage(bytes, preprocess, limits));
//   ids = ExpandImagePlaceholders(ids, image_token_id, {plan.num_tokens()});  // mrope_positions.h
#ifndef TPSERVE_VISION_IMAGE_PLAN_H_
#define TPSERVE_VISION_IMAGE_PLAN_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "vision/image_header.h"
#include "vision/image_limits.h"
#include "vision/preprocess_config.h"
#include "vision/smart_resize.h"

namespace tpserve::vision {

// The patch grid of one image (spec §5.2): grid_t temporal patches (1 for a still image) of
// grid_h x grid_w patches of patch_size pixels; grid_h and grid_w are multiples of merge_size.
struct ImageGrid {
  int64_t t = 1;
  int64_t h = 0;
  int64_t w = 0;
  int64_t merge = 2;

  int64_t num_patches() const { return t * h * w; }
  int64_t merged_h() const { return h / merge; }  // rows of image tokens
  int64_t merged_w() const { return w / merge; }  // columns of image tokens
  int64_t num_tokens() const { return num_patches() / (merge * merge); }
  friend bool operator==(const ImageGrid&, const ImageGrid&) = default;
};

// The grid of an image of `height` x `width` pixels after smart_resize.
absl::StatusOr<ImageGrid> GridForImageSize(int64_t height, int64_t width,
                                           const PreprocessConfig& config);

struct ImagePlan {
  ImageHeader header;
  ResizedSize resized;
  ImageGrid grid;
  int64_t num_tokens() const { return grid.num_tokens(); }
};

// Reads only the header of `encoded`, checks `limits` and applies the resize rule.
absl::StatusOr<ImagePlan> PlanImage(std::string_view encoded, const PreprocessConfig& config,
                                    const ImageLimits& limits);

// The number of image tokens `encoded` takes in a prompt (PlanImage(...).num_tokens()).
absl::StatusOr<int64_t> CountImageTokens(std::string_view encoded, const PreprocessConfig& config,
                                         const ImageLimits& limits);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_IMAGE_PLAN_H_
