// The images of a prompt, planned for the model: each image's header is read (no decoding), its
// merged grid found by the resize rule, its run of pad tokens located in the (already expanded)
// prompt, and the M-RoPE positions of every prompt token computed (spec §4). Used by the local
// generation loop and by a group leader's service edge, so both place images identically.
#ifndef TPSERVE_SHARD_PROMPT_IMAGES_H_
#define TPSERVE_SHARD_PROMPT_IMAGES_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "shard/step_plan.h"
#include "vision/image_limits.h"
#include "vision/preprocess_config.h"

namespace tpserve::shard {

struct PromptImages {
  std::vector<StepImage> images;                  // in prompt order, first_token set
  std::vector<int32_t> tokens_per_image;          // pad tokens of each image
  std::vector<std::array<int32_t, 3>> positions;  // [prompt length]; empty without images
  int32_t position_delta = 0;                     // generated token i takes position i + delta
};

// InvalidArgument (naming the image) for a bad header, a limit exceeded, or pad tokens that do
// not add up to the images' grids.
absl::StatusOr<PromptImages> PlanPromptImages(absl::Span<const int32_t> prompt,
                                              absl::Span<const std::string> images,
                                              int32_t image_token_id,
                                              const vision::PreprocessConfig& preprocess,
                                              const vision::ImageLimits& limits);

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_PROMPT_IMAGES_H_
