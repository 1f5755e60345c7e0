#include "shard/prompt_images.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "vision/image_plan.h"
#include "vision/mrope_positions.h"

namespace tpserve::shard {

absl::StatusOr<PromptImages> PlanPromptImages(absl::Span<const int32_t> prompt,
                                              absl::Span<const std::string> images,
                                              int32_t image_token_id,
                                              const vision::PreprocessConfig& preprocess,
                                              const vision::ImageLimits& limits) {
  PromptImages out;
  if (images.empty()) return out;
  TPS_RETURN_IF_ERROR(vision::CheckImageCount(static_cast<int64_t>(images.size()), limits));
  std::vector<std::array<int64_t, 2>> grids;
  for (size_t i = 0; i < images.size(); ++i) {
    absl::StatusOr<vision::ImagePlan> plan = vision::PlanImage(images[i], preprocess, limits);
    if (!plan.ok()) return Annotate(plan.status(), absl::StrCat("image ", i));
    grids.push_back({plan->grid.merged_h(), plan->grid.merged_w()});
    out.images.push_back({std::make_shared<const std::string>(images[i]), 0});
    out.tokens_per_image.push_back(static_cast<int32_t>(plan->num_tokens()));
  }
  TPS_ASSIGN_OR_RETURN(std::vector<vision::ImageSpan> spans,
                       vision::LocateImages(prompt, image_token_id, grids));
  for (size_t i = 0; i < spans.size(); ++i) {
    out.images[i].first_token = static_cast<int32_t>(spans[i].first_token);
  }
  TPS_ASSIGN_OR_RETURN(vision::MropePositions pos,
                       vision::ComputeMropePositions(prompt, image_token_id, spans));
  out.positions = std::move(pos.positions);
  out.position_delta = pos.position_delta;
  return out;
}

}  // namespace tpserve::shard
