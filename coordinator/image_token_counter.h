// The seam between admission and vision/: how many image tokens an image becomes.
//
// The coordinator expands each image placeholder to the exact number of <|image_pad|> tokens the
// leader's vision tower will produce, which depends on the image's size (read from its header) and
// the model's resize rule (its preprocessor_config.json). The implementation also decodes the
// whole image once: a body that is truncated or corrupt (bad zlib data, a CRC error, a broken JPEG
// scan) is refused here with the request's own InvalidArgument, never inside a model step where it
// would fail every stream of the replica.
// VisionImageTokenCounter is the implementation (vision core library, no device code); tests may
// substitute their own.
#ifndef TPSERVE_COORDINATOR_IMAGE_TOKEN_COUNTER_H_
#define TPSERVE_COORDINATOR_IMAGE_TOKEN_COUNTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vision/image_limits.h"
#include "vision/preprocess_config.h"

namespace tpserve::coordinator {

class ImageTokenCounter {
 public:
  virtual ~ImageTokenCounter() = default;
  // The number of image tokens `encoded_image` (PNG, JPEG or WebP bytes) expands to for the model
  // in `model_dir`. InvalidArgument for an unreadable header, data that does not decode, or an
  // image beyond the limits. Thread-safe.
  virtual absl::StatusOr<int64_t> CountImageTokens(std::string_view encoded_image,
                                                   const std::string& model_dir) const = 0;
  virtual const vision::ImageLimits& limits() const = 0;
};

class VisionImageTokenCounter final : public ImageTokenCounter {
 public:
  explicit VisionImageTokenCounter(vision::ImageLimits limits = {}) : limits_(limits) {}
  absl::StatusOr<int64_t> CountImageTokens(std::string_view encoded_image,
                                           const std::string& model_dir) const override;
  const vision::ImageLimits& limits() const override { return limits_; }

 private:
  vision::ImageLimits limits_;
  mutable absl::Mutex mu_;
  mutable std::map<std::string, vision::PreprocessConfig> configs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_IMAGE_TOKEN_COUNTER_H_
