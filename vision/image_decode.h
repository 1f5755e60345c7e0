// Decodes a request's image bytes (PNG, JPEG or WebP) into 8-bit RGB exactly as transformers'
// Qwen image processor sees the image: PIL opens it and convert_to_rgb() composites any
// transparency (an alpha channel, a palette or key-color tRNS) onto a white background with PIL's
// integer alpha_composite; grayscale is replicated to RGB. (transformers 5.x composites onto
// white; plain PIL convert("RGB") would drop alpha instead.)
//
// Limits are checked from the header before any pixel is decoded (image_limits.h). Corrupt,
// truncated or unsupported data is InvalidArgument; a decoder never aborts the process.
#ifndef TPSERVE_VISION_IMAGE_DECODE_H_
#define TPSERVE_VISION_IMAGE_DECODE_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "vision/image_limits.h"
#include "vision/rgb_image.h"

namespace tpserve::vision {

absl::StatusOr<RgbImage> DecodeImage(std::string_view bytes, const ImageLimits& limits = {});

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_IMAGE_DECODE_H_
