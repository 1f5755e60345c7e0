#include "vision/smart_resize.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace tpserve::vision {

absl::StatusOr<ResizedSize> SmartResize(int64_t height, int64_t width, int64_t factor,
                                        int64_t min_pixels, int64_t max_pixels) {
  if (height <= 0 || width <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image size ", width, "x", height, " must be positive"));
  }
  if (factor <= 0 || min_pixels < 0 || max_pixels < factor * factor || min_pixels > max_pixels) {
    return absl::InvalidArgumentError(absl::StrCat("resize bounds: factor ", factor,
                                                   ", min_pixels ", min_pixels, ", max_pixels ",
                                                   max_pixels, " are inconsistent"));
  }
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  const double f = static_cast<double>(factor);
  if (std::max(h, w) / std::min(h, w) > 200.0) {
    return absl::InvalidArgumentError(absl::StrCat("image ", width, "x", height, ": aspect ratio ",
                                                   std::max(h, w) / std::min(h, w),
                                                   " is above 200"));
  }
  // Python's round() rounds half to even, as nearbyint does in the default rounding mode.
  int64_t h_bar = static_cast<int64_t>(std::nearbyint(h / f)) * factor;
  int64_t w_bar = static_cast<int64_t>(std::nearbyint(w / f)) * factor;
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt((h * w) / static_cast<double>(max_pixels));
    h_bar = std::max(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (h * w));
    h_bar = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    w_bar = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return ResizedSize{h_bar, w_bar};
}

}  // namespace tpserve::vision
