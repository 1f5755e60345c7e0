#include "vision/image_limits.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace tpserve::vision {

absl::Status CheckImageLimits(const ImageHeader& header, size_t encoded_bytes,
                              const ImageLimits& limits) {
  const std::string what = absl::StrCat("image (", std::string(ImageFormatName(header.format)), " ",
                                        header.width, "x", header.height, ")");
  if (encoded_bytes > limits.max_encoded_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", encoded_bytes,
                                                   " encoded bytes, above the limit of ",
                                                   limits.max_encoded_bytes));
  }
  if (header.width > limits.max_side || header.height > limits.max_side) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": a side is longer than the limit of ", limits.max_side, " pixels"));
  }
  if (header.width * header.height > limits.max_pixels) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", header.width * header.height,
                                                   " pixels, above the limit of ",
                                                   limits.max_pixels));
  }
  if (header.animated) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": animated images are not supported (send one frame)"));
  }
  return absl::OkStatus();
}

absl::Status CheckImageCount(int64_t num_images, const ImageLimits& limits) {
  if (num_images > limits.max_images_per_request) {
    return absl::InvalidArgumentError(absl::StrCat(
        num_images, " images in one request, above the limit of ", limits.max_images_per_request));
  }
  return absl::OkStatus();
}

}  // namespace tpserve::vision
