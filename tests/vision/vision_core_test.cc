// tpserve_vision_core: header sniffing, limits, data: URIs and refused URLs, smart_resize,
// placeholder expansion and the M-RoPE positions (checked against transformers' get_rope_index
// on the golden prompts).
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/npy.h"
#include "tests/testing/status_matchers.h"
#include "tests/vision/vision_golden.h"
#include "vision/image_header.h"
#include "vision/image_limits.h"
#include "vision/image_plan.h"
#include "vision/image_source.h"
#include "vision/mrope_positions.h"
#include "vision/preprocess_config.h"
#include "vision/smart_resize.h"

namespace tpserve::vision {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

std::string Png(uint32_t w, uint32_t h, int depth = 8, int color = 2) {
  std::string s("\x89PNG\r\n\x1a\n", 8);
  s += std::string("\0\0\0\x0dIHDR", 8);
  for (uint32_t v : {w, h}) {
    for (int b = 3; b >= 0; --b) s.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
  s += {static_cast<char>(depth), static_cast<char>(color), 0, 0, 0};
  s += std::string("\0\0\0\0", 4);  // CRC (not checked by the header reader)
  return s;
}

TEST(ImageHeaderTest, ReadsEveryGoldenImage) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  struct Want {
    std::string file;
    ImageFormat format;
    int64_t w, h;
  };
  for (const Want& want : std::vector<Want>{{"one_px.png", ImageFormat::kPng, 1, 1},
                                            {"tall_37x311_rgba.png", ImageFormat::kPng, 37, 311},
                                            {"photo_500x300.jpg", ImageFormat::kJpeg, 500, 300},
                                            {"progressive.jpg", ImageFormat::kJpeg, 29, 17},
                                            {"wide_1000x40.webp", ImageFormat::kWebp, 1000, 40},
                                            {"lossless_alpha.webp", ImageFormat::kWebp, 13, 9},
                                            {"lossy_alpha.webp", ImageFormat::kWebp, 13, 9}}) {
    ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath(want.file)));
    ASSERT_OK_AND_ASSIGN(ImageHeader h, ReadImageHeader(bytes));
    EXPECT_EQ(h.format, want.format) << want.file;
    EXPECT_EQ(h.width, want.w) << want.file;
    EXPECT_EQ(h.height, want.h) << want.file;
  }
}

TEST(ImageHeaderTest, RejectsGarbageAndBadHeaders) {
  EXPECT_THAT(ReadImageHeader(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no bytes")));
  EXPECT_THAT(ReadImageHeader("GIF89a......"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unsupported format")));
  EXPECT_THAT(ReadImageHeader(Png(0, 5)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size 0x5 is invalid")));
  EXPECT_THAT(ReadImageHeader(Png(5, 5, 3, 2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bit depth 3")));
  EXPECT_THAT(ReadImageHeader(Png(5, 5).substr(0, 20)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("truncated")));
  EXPECT_THAT(ReadImageHeader(std::string("\xff\xd8\xff\xd9", 4)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no frame header")));
  EXPECT_THAT(ReadImageHeader(std::string("RIFF\0\0\0\0WEBPVP9 ", 16) + std::string(8, '\0')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown first chunk")));
}

TEST(ImageLimitsTest, BombsAreRefusedFromTheHeader) {
  ImageLimits limits;
  // A 60000 x 60000 PNG header: 3.6 gigapixels, refused without decoding anything.
  ASSERT_OK_AND_ASSIGN(ImageHeader big, ReadImageHeader(Png(60000, 60000)));
  EXPECT_THAT(
      CheckImageLimits(big, 100, limits),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("above the limit of 89478485")));
  ASSERT_OK_AND_ASSIGN(ImageHeader side, ReadImageHeader(Png(70000, 10)));
  EXPECT_THAT(CheckImageLimits(side, 100, limits),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("65535")));
  ASSERT_OK_AND_ASSIGN(ImageHeader ok, ReadImageHeader(Png(640, 480)));
  EXPECT_OK(CheckImageLimits(ok, 1000, limits));
  EXPECT_THAT(CheckImageLimits(ok, (20u << 20) + 1, limits),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encoded bytes")));
  EXPECT_OK(CheckImageCount(16, limits));
  EXPECT_THAT(CheckImageCount(17, limits),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("17 images in one request")));
  EXPECT_THAT(PlanImage(Png(60000, 60000), {}, limits),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ImageSourceTest, DataUrisDecodeAndUrlsAreRefused) {
  const std::string png = Png(3, 2);
  std::string b64;
  absl::Base64Escape(png, &b64);
  ASSERT_OK_AND_ASSIGN(std::string got, DecodeDataUri("data:image/png;base64," + b64, 1 << 20));
  EXPECT_EQ(got, png);
  ASSERT_OK_AND_ASSIGN(got, ImageBytesFromUrl("DATA:;base64,\n" + b64, 1 << 20));
  EXPECT_EQ(got, png);
  EXPECT_THAT(DecodeDataUri("data:image/png," + png, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base64")));
  EXPECT_THAT(DecodeDataUri("data:text/html;base64," + b64, 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("media type 'text/html'")));
  EXPECT_THAT(DecodeDataUri("data:image/png;base64,@@@@", 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid base64")));
  EXPECT_THAT(DecodeDataUri("data:image/png;base64," + std::string(4000, 'A'), 100),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("above the limit of 100")));
  EXPECT_THAT(ImageBytesFromUrl("https://example.com/cat.png", 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("never fetched")));
  EXPECT_THAT(ImageBytesFromUrl("http://10.0.0.1/x.png", 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("never fetched")));
  EXPECT_THAT(ImageBytesFromUrl("file:///etc/passwd", 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("never opens local files")));
  EXPECT_THAT(ImageBytesFromUrl("/etc/passwd", 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a data: URI")));
  EXPECT_THAT(ImageBytesFromUrl("ftp://x/y.png", 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SmartResizeTest, MatchesTransformers) {
  // Expected values from transformers' smart_resize (factor 32, min 65536, max 16777216).
  struct Case {
    int64_t h, w, want_h, want_w;
  };
  for (const Case& c : std::vector<Case>{{1, 1, 256, 256},
                                         {311, 37, 768, 96},
                                         {300, 500, 288, 512},
                                         {40, 1000, 64, 1280},
                                         {448, 448, 448, 448},
                                         {896, 1344, 896, 1344},
                                         {80, 5000, 64, 4992},  // 2.5 rounds to 2 (half to even)
                                         {8192, 8192, 4096, 4096},  // above max_pixels
                                         {20000, 100, 20000 / 32 * 32, 96}}) {
    ASSERT_OK_AND_ASSIGN(ResizedSize r, SmartResize(c.h, c.w, 32, 65536, 16777216));
    EXPECT_EQ(r.height, c.want_h) << c.h << "x" << c.w;
    EXPECT_EQ(r.width, c.want_w) << c.h << "x" << c.w;
  }
  // Half to even: 48/32 = 1.5 -> 2, 80/32 = 2.5 -> 2, 112/32 = 3.5 -> 4 (min_pixels 0 to see it).
  ASSERT_OK_AND_ASSIGN(ResizedSize r, SmartResize(48, 80, 32, 0, 1 << 30));
  EXPECT_EQ(r, (ResizedSize{64, 64}));
  ASSERT_OK_AND_ASSIGN(r, SmartResize(112, 112, 32, 0, 1 << 30));
  EXPECT_EQ(r, (ResizedSize{128, 128}));
  EXPECT_THAT(SmartResize(1, 201, 32, 65536, 16777216),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("aspect ratio")));
  EXPECT_OK(SmartResize(1, 200, 32, 65536, 16777216));
  EXPECT_THAT(SmartResize(0, 5, 32, 65536, 16777216), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PreprocessConfigTest, ParsesQwenConfigAndRejectsOtherPipelines) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  ASSERT_OK_AND_ASSIGN(PreprocessConfig c, LoadPreprocessorConfig(m.model_dir));
  EXPECT_EQ(c.min_pixels, 65536);
  EXPECT_EQ(c.max_pixels, 16777216);
  EXPECT_EQ(c.factor(), 32);
  EXPECT_EQ(c.patch_values(), 1536);
  ASSERT_OK_AND_ASSIGN(c,
                       ParsePreprocessorConfig(R"({"min_pixels": 3136, "max_pixels": 12845056})"));
  EXPECT_EQ(c.min_pixels, 3136);
  EXPECT_THAT(ParsePreprocessorConfig(R"({"resample": 2})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resample")));
  EXPECT_THAT(ParsePreprocessorConfig(R"({"do_normalize": false})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("do_normalize")));
  EXPECT_THAT(ParsePreprocessorConfig(R"({"size": {"shortest_edge": 9, "longest_edge": 4}})"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePreprocessorConfig("[1]"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ImagePlanTest, TokenCountsOfTheGoldenImagesMatchTransformers) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  ASSERT_OK_AND_ASSIGN(PreprocessConfig config, LoadPreprocessorConfig(m.model_dir));
  for (const testing::VisionCase& c : m.cases) {
    for (size_t i = 0; i < c.images.size(); ++i) {
      ASSERT_OK_AND_ASSIGN(std::string bytes, testing::ReadFileBytes(m.ImagePath(c.images[i])));
      ASSERT_OK_AND_ASSIGN(ImagePlan plan, PlanImage(bytes, config, {}));
      EXPECT_EQ(plan.grid.t, c.grid_thw[i][0]);
      EXPECT_EQ(plan.grid.h, c.grid_thw[i][1]) << c.images[i];
      EXPECT_EQ(plan.grid.w, c.grid_thw[i][2]) << c.images[i];
      EXPECT_EQ(plan.num_tokens(), c.image_tokens[i]);
      ASSERT_OK_AND_ASSIGN(int64_t n, CountImageTokens(bytes, config, {}));
      EXPECT_EQ(n, c.image_tokens[i]);
    }
  }
}

TEST(MropePositionsTest, ExpandAndLocatePlaceholders) {
  const std::vector<int32_t> ids = {1, 9, 2, 9, 3};
  std::vector<int64_t> firsts;
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> out,
                       ExpandImagePlaceholders(ids, 9, {{2, 3}}, &firsts));
  EXPECT_THAT(out, ElementsAre(1, 9, 9, 2, 9, 9, 9, 3));
  EXPECT_THAT(firsts, ElementsAre(1, 4));
  EXPECT_THAT(ExpandImagePlaceholders(ids, 9, {{2}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 image placeholder(s)")));
  // Two images touching: [9 9] is 1x2, [9 9 9 9] is 2x2.
  const std::vector<int32_t> touching = {5, 9, 9, 9, 9, 9, 9, 6};
  ASSERT_OK_AND_ASSIGN(
      std::vector<ImageSpan> spans,
      LocateImages(touching, 9, std::vector<std::array<int64_t, 2>>{{1, 2}, {2, 2}}));
  EXPECT_THAT(spans, ElementsAre(ImageSpan{1, 1, 2}, ImageSpan{3, 2, 2}));
  EXPECT_THAT(LocateImages(touching, 9, std::vector<std::array<int64_t, 2>>{{1, 2}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("belongs to no image")));
  EXPECT_THAT(LocateImages(touching, 9, std::vector<std::array<int64_t, 2>>{{2, 4}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs 8 consecutive")));
}

TEST(MropePositionsTest, AdvanceRuleOnASmallPrompt) {
  // text(2) + a 2x3 image + text(1): the image starts at counter 2, the counter then advances by
  // max(2, 3) = 3, so the last text token is at 5.
  const std::vector<int32_t> ids = {7, 7, 9, 9, 9, 9, 9, 9, 7};
  ASSERT_OK_AND_ASSIGN(MropePositions p, ComputeMropePositions(ids, 9, {{ImageSpan{2, 2, 3}}}));
  using P = std::array<int32_t, 3>;
  EXPECT_THAT(p.positions, ElementsAre(P{0, 0, 0}, P{1, 1, 1}, P{2, 2, 2}, P{2, 2, 3}, P{2, 2, 4},
                                       P{2, 3, 2}, P{2, 3, 3}, P{2, 3, 4}, P{5, 5, 5}));
  EXPECT_EQ(p.position_delta, 6 - 9);
  EXPECT_THAT(ComputeMropePositions(ids, 9, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("belongs to no image")));
  EXPECT_THAT(ComputeMropePositions(ids, 9, {{ImageSpan{3, 2, 3}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MropePositionsTest, MatchTransformersGetRopeIndex) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  for (const testing::VisionCase& c : m.cases) {
    std::vector<std::array<int64_t, 2>> grids;
    for (const auto& g : c.grid_thw) grids.push_back({g[1] / 2, g[2] / 2});
    ASSERT_OK_AND_ASSIGN(std::vector<ImageSpan> spans, LocateImages(c.prompt, 263, grids));
    ASSERT_OK_AND_ASSIGN(MropePositions p, ComputeMropePositions(c.prompt, 263, spans));
    ASSERT_OK_AND_ASSIGN(NpyArray want, ReadNpy(m.File(c.name + ".positions.npy")));
    ASSERT_EQ(want.shape, (std::vector<int64_t>{static_cast<int64_t>(c.prompt.size()), 3}));
    for (size_t i = 0; i < c.prompt.size(); ++i) {
      for (size_t a = 0; a < 3; ++a) {
        ASSERT_EQ(p.positions[i][a], static_cast<int32_t>(want.data[i * 3 + a]))
            << c.name << " token " << i << " axis " << a;
      }
    }
    EXPECT_EQ(p.position_delta, c.position_delta) << c.name;
  }
}

}  // namespace
}  // namespace tpserve::vision
