#include "coordinator/image_token_counter.h"

#include "ops/base/status_macros.h"
#include "vision/image_decode.h"
#include "vision/image_plan.h"

namespace tpserve::coordinator {

absl::StatusOr<int64_t> VisionImageTokenCounter::CountImageTokens(
    std::string_view encoded_image, const std::string& model_dir) const {
  vision::PreprocessConfig config;
  {
    absl::MutexLock lock(&mu_);
    auto it = configs_.find(model_dir);
    if (it == configs_.end()) {
      TPS_ASSIGN_OR_RETURN(vision::PreprocessConfig loaded,
                           vision::LoadPreprocessorConfig(model_dir));
      it = configs_.emplace(model_dir, loaded).first;
    }
    config = it->second;
  }
  TPS_ASSIGN_OR_RETURN(int64_t tokens, vision::CountImageTokens(encoded_image, config, limits_));
  // The header passed the limits, so the decode below is bounded by them.
  TPS_RETURN_IF_ERROR(vision::DecodeImage(encoded_image, limits_).status());
  return tokens;
}

}  // namespace tpserve::coordinator
