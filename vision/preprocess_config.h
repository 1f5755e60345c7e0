// The image processor's settings (preprocessor_config.json of a Qwen3.5 checkpoint): resize
// bounds, patch geometry and normalisation. Shared by the coordinator (token counts) and the
// workers (pixels), so both resize by the same rule. No device code.
//
// Defaults are Qwen3.5's (spec §5.1): size {shortest_edge: 65536, longest_edge: 16777216} — pixel
// counts, not edges — patch 16, temporal patch 2, merge 2, mean = std = 0.5, rescale 1/255.
#ifndef TPSERVE_VISION_PREPROCESS_CONFIG_H_
#define TPSERVE_VISION_PREPROCESS_CONFIG_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpserve::vision {

struct PreprocessConfig {
  int64_t patch_size = 16;
  int64_t temporal_patch_size = 2;
  int64_t merge_size = 2;
  int64_t min_pixels = 65'536;      // size.shortest_edge (or min_pixels)
  int64_t max_pixels = 16'777'216;  // size.longest_edge (or max_pixels)
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> image_mean = {0.5f, 0.5f, 0.5f};
  std::array<float, 3> image_std = {0.5f, 0.5f, 0.5f};

  int64_t factor() const { return patch_size * merge_size; }  // 32
  int64_t patch_values() const { return 3 * temporal_patch_size * patch_size * patch_size; }
};

// Parses preprocessor_config.json text. Unknown fields are ignored; present fields are checked
// (InvalidArgument naming the field). do_resize / do_rescale / do_normalize / do_convert_rgb must
// not be false, and resample must be 3 (bicubic): other pipelines are not implemented.
absl::StatusOr<PreprocessConfig> ParsePreprocessorConfig(std::string_view json);

// `model_dir`/preprocessor_config.json when it exists, else the defaults.
absl::StatusOr<PreprocessConfig> LoadPreprocessorConfig(const std::string& model_dir);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_PREPROCESS_CONFIG_H_
