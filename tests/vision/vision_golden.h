// The vision golden fixture (tests/golden/tiny_vision, made by tools/golden/make_vision_golden.py
// with transformers): its manifest, files and the images it was made from.
#ifndef TPSERVE_TESTS_VISION_VISION_GOLDEN_H_
#define TPSERVE_TESTS_VISION_VISION_GOLDEN_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tpserve::testing {

struct VisionPixelRef {
  uint64_t fnv1a64 = 0;  // of the HF processor's float32 pixel_values bytes for this image
  double sum = 0;
  double abs_sum = 0;
  int64_t patches = 0;
  std::vector<int64_t> sample_rows;  // rows stored in <case>.image<i>.pixel_rows.npy
};

struct VisionCase {
  std::string name;
  std::vector<std::string> images;  // file names under images/
  std::vector<int32_t> prompt;      // expanded placeholders
  std::vector<std::array<int64_t, 3>> grid_thw;
  std::vector<int64_t> image_tokens;
  std::vector<VisionPixelRef> pixels;
  int32_t position_delta = 0;
  std::vector<int32_t> greedy_tokens;
  bool chat = false;  // the prompt is the chat template's rendering (CLI test)
};

struct VisionDecodeCase {
  std::string file;
  int64_t width = 0;
  int64_t height = 0;
};

struct VisionManifest {
  std::string model_dir;
  int64_t vocab = 0;
  std::vector<VisionCase> cases;
  std::vector<VisionDecodeCase> decode_cases;
  std::vector<std::array<int64_t, 2>> resize_cases;  // (width, height) of resize.<w>x<h>.npy

  std::string ImagePath(const std::string& file) const { return model_dir + "/images/" + file; }
  std::string File(const std::string& name) const { return model_dir + "/" + name; }
};

absl::StatusOr<VisionManifest> LoadVisionManifest();

// Whole file contents.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// FNV-1a 64 of `n` bytes (the fixture's pixel fingerprint).
uint64_t Fnv1a64(const void* data, size_t n);

}  // namespace tpserve::testing

#endif  // TPSERVE_TESTS_VISION_VISION_GOLDEN_H_
