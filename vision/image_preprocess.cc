#include "vision/image_preprocess.h"

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "vision/resample.h"

namespace tpserve::vision {

absl::StatusOr<PixelPatches> PreprocessImage(const RgbImage& image,
                                             const PreprocessConfig& config) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width * image.height * 3)) {
    return absl::InvalidArgumentError(absl::StrCat("image: ", image.width, "x", image.height,
                                                   " with ", image.pixels.size(), " bytes"));
  }
  TPS_ASSIGN_OR_RETURN(ResizedSize size, SmartResize(image.height, image.width, config.factor(),
                                                     config.min_pixels, config.max_pixels));
  const RgbImage resized = ResizeBicubic(image, size.width, size.height);

  // Normalised planes [3, h, w], with transformers' rounding: f32(f64(v) · rescale), then
  // (x − mean) / std in f32.
  const int64_t h = size.height, w = size.width;
  std::vector<float> planes(static_cast<size_t>(3 * h * w));
  float lut[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      const float x = static_cast<float>(static_cast<double>(v) * config.rescale_factor);
      lut[c][v] = (x - config.image_mean[static_cast<size_t>(c)]) /
                  config.image_std[static_cast<size_t>(c)];
    }
  }
  for (int64_t i = 0; i < h * w; ++i) {
    for (int c = 0; c < 3; ++c) {
      planes[static_cast<size_t>(c * h * w + i)] =
          lut[c][resized.pixels[static_cast<size_t>(3 * i + c)]];
    }
  }

  PixelPatches out;
  TPS_ASSIGN_OR_RETURN(out.grid, GridForImageSize(image.height, image.width, config));
  const int64_t ps = config.patch_size, tp = config.temporal_patch_size, m = config.merge_size;
  const int64_t per_patch = config.patch_values();
  out.values.resize(static_cast<size_t>(out.grid.num_patches() * per_patch));
  float* dst = out.values.data();
  for (int64_t br = 0; br < out.grid.h / m; ++br) {
    for (int64_t bc = 0; bc < out.grid.w / m; ++bc) {
      for (int64_t ir = 0; ir < m; ++ir) {
        for (int64_t ic = 0; ic < m; ++ic) {
          const int64_t y0 = (br * m + ir) * ps, x0 = (bc * m + ic) * ps;
          for (int64_t c = 0; c < 3; ++c) {
            for (int64_t t = 0; t < tp; ++t) {  // the still frame, repeated
              for (int64_t y = 0; y < ps; ++y) {
                const float* src = planes.data() + c * h * w + (y0 + y) * w + x0;
                for (int64_t x = 0; x < ps; ++x) *dst++ = src[x];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace tpserve::vision
