// The seam between admission and vision/: how many image tokens an image becomes.
//
// The coordinator must expand each image placeholder to the exact number of <|image_pad|> tokens
// the leader's vision tower will produce, which depends on the image's size (read from its
// header, never fully decoded here) and the resize rule. vision/ will provide an implementation;
// until then Admission is built without one and refuses images with UNIMPLEMENTED. Note that the
// cluster protocol's GenerateRequest carries no image bytes yet either (TODO(#5)).
#ifndef TPSERVE_COORDINATOR_IMAGE_TOKEN_COUNTER_H_
#define TPSERVE_COORDINATOR_IMAGE_TOKEN_COUNTER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "shard/model_spec.h"

namespace tpserve::coordinator {

class ImageTokenCounter {
 public:
  virtual ~ImageTokenCounter() = default;
  // The number of image tokens `encoded_image` (PNG, JPEG or WebP bytes) expands to for a model
  // with `vision`. InvalidArgument for an unreadable header; ResourceExhausted for an image too
  // large to accept. Thread-safe.
  virtual absl::StatusOr<int64_t> CountImageTokens(std::string_view encoded_image,
                                                   const shard::VisionSpec& vision) const = 0;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_IMAGE_TOKEN_COUNTER_H_
