// Limits on the images of one request, checked from the header before anything is decoded, so a
// decompression bomb (a few KB of PNG that inflate to gigabytes) is refused cheaply.
//
// Defaults, chosen like the servers people compare us with:
//   max_encoded_bytes       20 MiB per image (OpenAI's per-image upload limit; vLLM and TGI
//                           leave it to the HTTP body limit)
//   max_pixels              89,478,485 source pixels (PIL's Image.MAX_IMAGE_PIXELS, the
//                           decompression-bomb threshold transformers and vLLM inherit; ~9459²)
//   max_side                65,535 pixels along either side (JPEG's and WebP's format limit)
//   max_images_per_request  16 (vLLM's --limit-mm-per-prompt is the equivalent knob)
// The resize rule then bounds what the tower sees (preprocess_config.h: at most max_pixels of the
// processor, 16,777,216 for Qwen3.5, i.e. 16,384 image tokens).
#ifndef TPSERVE_VISION_IMAGE_LIMITS_H_
#define TPSERVE_VISION_IMAGE_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "vision/image_header.h"

namespace tpserve::vision {

struct ImageLimits {
  size_t max_encoded_bytes = size_t{20} << 20;
  int64_t max_pixels = 89'478'485;
  int64_t max_side = 65'535;
  int64_t max_images_per_request = 16;
};

// InvalidArgument when an image of `encoded_bytes` bytes with this header breaks a limit; the
// message gives the value and the limit.
absl::Status CheckImageLimits(const ImageHeader& header, size_t encoded_bytes,
                              const ImageLimits& limits);

// InvalidArgument when a request carries more than max_images_per_request images.
absl::Status CheckImageCount(int64_t num_images, const ImageLimits& limits);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_IMAGE_LIMITS_H_
