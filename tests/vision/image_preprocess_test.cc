// Preprocessing against transformers' Qwen image processor (PIL path): the project decodes the
// committed PNG / JPEG / WebP files and preprocesses them; the resulting pixel_values must be
// bit-identical to the processor's (FNV-1a 64 of the float32 bytes). The sampled rows and sums
// make a mismatch readable.
#include "vision/image_preprocess.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/npy.h"
#include "tests/testing/status_matchers.h"
#include "tests/vision/vision_golden.h"
#include "vision/image_decode.h"
#include "vision/patch_positions.h"
#include "vision/resample.h"

namespace tpserve::vision {
namespace {

TEST(ImagePreprocessTest, PixelValuesAreBitIdenticalToTransformers) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  ASSERT_OK_AND_ASSIGN(PreprocessConfig config, LoadPreprocessorConfig(m.model_dir));
  int checked = 0;
  for (const testing::VisionCase& c : m.cases) {
    for (size_t i = 0; i < c.images.size(); ++i) {
      const testing::VisionPixelRef& ref = c.pixels[i];
      ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath(c.images[i])));
      ASSERT_OK_AND_ASSIGN(RgbImage rgb, DecodeImage(bytes));
      ASSERT_OK_AND_ASSIGN(PixelPatches p, PreprocessImage(rgb, config));
      ASSERT_EQ(p.grid.num_patches(), ref.patches) << c.images[i];
      ASSERT_EQ(p.values.size(), static_cast<size_t>(ref.patches * 1536));
      double sum = 0, abs_sum = 0;
      for (float v : p.values) {
        sum += v;
        abs_sum += std::abs(v);
      }
      // Sampled rows: the worst difference, reported when the fingerprint differs.
      ASSERT_OK_AND_ASSIGN(NpyArray rows, ReadNpy(m.File(c.name + ".image" + std::to_string(i) +
                                                         ".pixel_rows.npy")));
      double worst = 0;
      for (size_t r = 0; r < ref.sample_rows.size(); ++r) {
        for (size_t k = 0; k < 1536; ++k) {
          worst = std::max<double>(
              worst, std::abs(p.values[static_cast<size_t>(ref.sample_rows[r]) * 1536 + k] -
                              rows.data[r * 1536 + k]));
        }
      }
      EXPECT_EQ(testing::Fnv1a64(p.values.data(), p.values.size() * sizeof(float)), ref.fnv1a64)
          << c.images[i] << ": pixel_values differ from transformers; max |diff| on sampled rows "
          << worst << ", sum " << sum << " vs " << ref.sum << ", abs sum " << abs_sum << " vs "
          << ref.abs_sum;
      EXPECT_EQ(worst, 0.0) << c.images[i];
      EXPECT_NEAR(sum, ref.sum, 1e-6 * ref.abs_sum);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
}

TEST(ImagePreprocessTest, PatchOrderIsMergeWindows) {
  // A 64x64 image whose pixel (y, x) encodes its patch: patch (row, col) of a 4x4 patch grid must
  // appear in the order (0,0) (0,1) (1,0) (1,1) (0,2) ... and each patch value in (c, t, y, x).
  RgbImage img;
  img.width = img.height = 64;
  img.pixels.resize(64 * 64 * 3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c)
        img.pixels[static_cast<size_t>((y * 64 + x) * 3 + c)] =
            static_cast<uint8_t>((y / 16) * 4 + (x / 16) + 16 * c);
  PreprocessConfig config;
  config.min_pixels = 0;
  ASSERT_OK_AND_ASSIGN(PixelPatches p, PreprocessImage(img, config));
  ASSERT_EQ(p.grid.h, 4);
  ASSERT_EQ(p.grid.w, 4);
  const int order[16][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3},
                            {2, 0}, {2, 1}, {3, 0}, {3, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}};
  for (int i = 0; i < 16; ++i) {
    for (int c = 0; c < 3; ++c) {
      const int v = order[i][0] * 4 + order[i][1] + 16 * c;
      const float want = (static_cast<float>(v / 255.0) - 0.5f) / 0.5f;
      // channel c, both frames, first and last pixel of the patch
      for (int t = 0; t < 2; ++t) {
        EXPECT_EQ(p.values[static_cast<size_t>(i * 1536 + c * 512 + t * 256)], want) << i;
        EXPECT_EQ(p.values[static_cast<size_t>(i * 1536 + c * 512 + t * 256 + 255)], want) << i;
      }
    }
  }
  const std::vector<int32_t> rot = RotaryPositions({&p.grid, 1});
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(rot[static_cast<size_t>(2 * i)], order[i][0]);
    EXPECT_EQ(rot[static_cast<size_t>(2 * i + 1)], order[i][1]);
  }
}

TEST(ResampleTest, MatchesPillowBicubicInBothPassOrders) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath("resize_src.png")));
  ASSERT_OK_AND_ASSIGN(RgbImage src, DecodeImage(bytes));
  ASSERT_GE(m.resize_cases.size(), 9u);
  for (const auto& [w, h] : m.resize_cases) {
    const RgbImage out = ResizeBicubic(src, w, h);
    ASSERT_OK_AND_ASSIGN(NpyArray want, ReadNpy(m.File("resize." + std::to_string(w) + "x" +
                                                       std::to_string(h) + ".npy")));
    ASSERT_EQ(want.data.size(), out.pixels.size());
    int differ = 0;
    for (size_t i = 0; i < out.pixels.size(); ++i) differ += out.pixels[i] != want.data[i];
    EXPECT_EQ(differ, 0) << src.width << "x" << src.height << " -> " << w << "x" << h;
  }
}

TEST(ResampleTest, SameSizeIsACopyAndConstantStaysConstant) {
  RgbImage img;
  img.width = 7;
  img.height = 5;
  img.pixels.assign(7 * 5 * 3, 77);
  RgbImage same = ResizeBicubic(img, 7, 5);
  EXPECT_EQ(same.pixels, img.pixels);
  for (auto [w, h] : {std::pair{70, 50}, std::pair{3, 2}, std::pair{7, 40}, std::pair{1, 1}}) {
    RgbImage out = ResizeBicubic(img, w, h);
    ASSERT_EQ(out.pixels.size(), static_cast<size_t>(w * h * 3));
    for (uint8_t v : out.pixels) ASSERT_EQ(v, 77) << w << "x" << h;
  }
}

}  // namespace
}  // namespace tpserve::vision
