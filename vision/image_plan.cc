#include "vision/image_plan.h"

#include "ops/base/status_macros.h"

namespace tpserve::vision {

absl::StatusOr<ImageGrid> GridForImageSize(int64_t height, int64_t width,
                                           const PreprocessConfig& config) {
  TPS_ASSIGN_OR_RETURN(ResizedSize r, SmartResize(height, width, config.factor(), config.min_pixels,
                                                  config.max_pixels));
  ImageGrid g;
  g.t = 1;  // a still image is one frame, duplicated to fill one temporal patch
  g.h = r.height / config.patch_size;
  g.w = r.width / config.patch_size;
  g.merge = config.merge_size;
  return g;
}

absl::StatusOr<ImagePlan> PlanImage(std::string_view encoded, const PreprocessConfig& config,
                                    const ImageLimits& limits) {
  ImagePlan plan;
  TPS_ASSIGN_OR_RETURN(plan.header, ReadImageHeader(encoded));
  TPS_RETURN_IF_ERROR(CheckImageLimits(plan.header, encoded.size(), limits));
  TPS_ASSIGN_OR_RETURN(plan.resized,
                       SmartResize(plan.header.height, plan.header.width, config.factor(),
                                   config.min_pixels, config.max_pixels));
  TPS_ASSIGN_OR_RETURN(plan.grid, GridForImageSize(plan.header.height, plan.header.width, config));
  return plan;
}

absl::StatusOr<int64_t> CountImageTokens(std::string_view encoded, const PreprocessConfig& config,
                                         const ImageLimits& limits) {
  TPS_ASSIGN_OR_RETURN(ImagePlan plan, PlanImage(encoded, config, limits));
  return plan.num_tokens();
}

}  // namespace tpserve::vision
