// Turns a decoded RGB image into the tower's input, as transformers' Qwen image processor does
// (spec §5.1–5.2): smart_resize, bicubic resampling (resample.h, PIL's algorithm), rescale by
// 1/255 (in double, then f32) and normalise ((x − mean) / std in f32), then patchify: a still
// image is duplicated to fill one temporal patch, and patches are listed in 2x2 merge-window
// order (block row, block column, inner row, inner column), each patch's values in (channel,
// frame, y, x) order with x fastest. With mean = std = 0.5 the values are in [−1, 1].
#ifndef TPSERVE_VISION_IMAGE_PREPROCESS_H_
#define TPSERVE_VISION_IMAGE_PREPROCESS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "vision/image_plan.h"
#include "vision/preprocess_config.h"
#include "vision/rgb_image.h"

namespace tpserve::vision {

struct PixelPatches {
  ImageGrid grid;
  std::vector<float> values;  // [grid.num_patches(), config.patch_values()]
};

absl::StatusOr<PixelPatches> PreprocessImage(const RgbImage& image, const PreprocessConfig& config);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_IMAGE_PREPROCESS_H_
