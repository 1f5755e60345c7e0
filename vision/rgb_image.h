// An 8-bit RGB image in host memory: what decoding produces and preprocessing reads.
#ifndef TPSERVE_VISION_RGB_IMAGE_H_
#define TPSERVE_VISION_RGB_IMAGE_H_

#include <cstdint>
#include <vector>

namespace tpserve::vision {

struct RgbImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;  // [height, width, 3], row-major, R G B

  const uint8_t* At(int64_t y, int64_t x) const { return pixels.data() + (y * width + x) * 3; }
};

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_RGB_IMAGE_H_
