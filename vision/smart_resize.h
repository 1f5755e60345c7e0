// smart_resize (spec §5.1, transformers' image_processing_qwen2_vl.smart_resize): the size an image
// is resized to before patchification. Both sides become multiples of `factor` (patch · merge =
// 32), the pixel count lands in [min_pixels, max_pixels], and the aspect ratio is kept as closely
// as possible. Rounding is Python's round() (half to even); the scale factor and divisions are in
// double precision in transformers' order, so results match it for every input. No device code.
#ifndef TPSERVE_VISION_SMART_RESIZE_H_
#define TPSERVE_VISION_SMART_RESIZE_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace tpserve::vision {

struct ResizedSize {
  int64_t height = 0;
  int64_t width = 0;
  friend bool operator==(const ResizedSize&, const ResizedSize&) = default;
};

// InvalidArgument for a non-positive size or factor, min_pixels > max_pixels, or an aspect ratio
// above 200 (transformers raises there too).
absl::StatusOr<ResizedSize> SmartResize(int64_t height, int64_t width, int64_t factor,
                                        int64_t min_pixels, int64_t max_pixels);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_SMART_RESIZE_H_
