// Decoding: every PIL conversion the reference processor makes (palette, tRNS, gray+alpha, 1-bit,
// 16-bit, CMYK JPEG, progressive and subsampled JPEG, lossless and lossy WebP with alpha) gives
// PIL's RGB exactly; corrupt and truncated files give InvalidArgument, never a crash (run it under
// ASan: scripts/test.sh --asan).
#include "vision/image_decode.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/npy.h"
#include "tests/testing/status_matchers.h"
#include "tests/vision/vision_golden.h"

namespace tpserve::vision {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

TEST(ImageDecodeTest, MatchesPilConvertToRgbExactly) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  ASSERT_FALSE(m.decode_cases.empty());
  for (const testing::VisionDecodeCase& d : m.decode_cases) {
    ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath(d.file)));
    ASSERT_OK_AND_ASSIGN(RgbImage img, DecodeImage(bytes));
    ASSERT_EQ(img.width, d.width) << d.file;
    ASSERT_EQ(img.height, d.height) << d.file;
    const std::string npy =
        absl::StrCat("decode.", absl::StrReplaceAll(d.file, {{".", "_"}}), ".rgb.npy");
    ASSERT_OK_AND_ASSIGN(NpyArray want, ReadNpy(m.File(npy)));
    ASSERT_EQ(want.data.size(), img.pixels.size()) << d.file;
    int mismatches = 0, worst = 0;
    for (size_t i = 0; i < img.pixels.size(); ++i) {
      const int diff = std::abs(static_cast<int>(img.pixels[i]) - static_cast<int>(want.data[i]));
      mismatches += diff != 0;
      worst = std::max(worst, diff);
    }
    EXPECT_EQ(mismatches, 0) << d.file << ": " << mismatches << " bytes differ from PIL, worst by "
                             << worst;
  }
}

// Every prefix and many byte flips of every golden image: each decode either succeeds (a flip in
// an ancillary chunk or in entropy-coded data may go unnoticed) or is InvalidArgument.
TEST(ImageDecodeTest, TruncatedAndCorruptFilesNeverCrash) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  std::mt19937 rng(1234);
  int refused = 0, decoded = 0;
  for (const std::string file : {"one_px.png", "palette_trns.png", "gray16.png", "gray_alpha.png",
                                 "progressive.jpg", "cmyk.jpg", "subsampled.jpg",
                                 "lossless_alpha.webp", "lossy_alpha.webp", "wide_1000x40.webp"}) {
    ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath(file)));
    std::vector<size_t> cuts;
    for (size_t n = 0; n < bytes.size(); n += std::max<size_t>(1, bytes.size() / 97))
      cuts.push_back(n);
    cuts.push_back(bytes.size() - 1);
    for (size_t n : cuts) {
      auto r = DecodeImage(bytes.substr(0, n));
      if (r.ok()) {
        ++decoded;
      } else {
        ++refused;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
            << file << " cut at " << n << ": " << r.status();
      }
    }
    for (int i = 0; i < 150; ++i) {
      std::string bad = bytes;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      auto r = DecodeImage(bad);
      if (r.ok()) {
        ++decoded;
        EXPECT_EQ(r->pixels.size(), static_cast<size_t>(r->width * r->height * 3));
      } else {
        ++refused;
        EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
            << file << " flip " << i << ": " << r.status();
      }
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(decoded, 0);
}

TEST(ImageDecodeTest, TruncatedPixelDataIsAnError) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  for (const std::string file :
       {"photo_500x300.jpg", "tall_37x311_rgba.png", "wide_1000x40.webp"}) {
    ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath(file)));
    EXPECT_THAT(DecodeImage(bytes.substr(0, bytes.size() * 2 / 3)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AnyOf(HasSubstr("corrupt"), HasSubstr("truncated"))))
        << file;
  }
}

TEST(ImageDecodeTest, LimitsAreCheckedBeforeDecoding) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath("photo_500x300.jpg")));
  ImageLimits small;
  small.max_pixels = 500 * 300 - 1;
  EXPECT_THAT(DecodeImage(bytes, small), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("150000 pixels, above the limit")));
  small = {};
  small.max_encoded_bytes = 100;
  EXPECT_THAT(DecodeImage(bytes, small),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encoded bytes")));
}

}  // namespace
}  // namespace tpserve::vision
