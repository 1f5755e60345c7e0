#include "coordinator/model_assets.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_spec.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

TEST(ModelAssetsTest, LoadsTokenizerStopIdsThinkIdsAndDefaults) {
  const std::string dir = testing::MakeModelDir();
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const ModelAssets> a, LoadModelAssets(dir));
  // <|im_end|>, <|endoftext|>, then generation_config's [248046, 248044] add nothing new.
  EXPECT_THAT(a->stop_token_ids, ElementsAre(248046, 248044));
  EXPECT_EQ(a->think_start_id, 248068);
  EXPECT_EQ(a->think_end_id, 248069);
  EXPECT_TRUE(a->default_thinking);  // 4 layers: not a 24-layer size
  EXPECT_EQ(a->template_variant, tokenizer::ChatTemplateVariant::kQwen35);
  EXPECT_FLOAT_EQ(a->generation_defaults.temperature, 0.7f);
  EXPECT_EQ(a->generation_defaults.top_k, 20);
  EXPECT_FLOAT_EQ(a->generation_defaults.top_p, 0.8f);
  EXPECT_FLOAT_EQ(a->generation_defaults.repetition_penalty, 1.0f);
}

// The defaults fill the fields a request leaves unset: they are held to the request's bounds
// (ops/base/sampling_bounds.h), with the file named.
TEST(ModelAssetsTest, OutOfBoundsGenerationDefaultsNameTheFileAndField) {
  const std::string dir = testing::MakeModelDir();
  std::ofstream(dir + "/generation_config.json")
      << R"({"do_sample": true, "temperature": 0.7, "top_p": 0})";
  EXPECT_THAT(LoadModelAssets(dir).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("generation_config.json: top_p: must be in (0, 1], got 0")));
}

TEST(ModelAssetsTest, SparseTestVocabularyGivesTwoRanges) {
  // The test vocabulary: 6000 BPE ids, then the real added tokens 248044..248076.
  const std::vector<TokenIdRange> ranges = AllowedTokenRanges(testing::TestTokenizer(), 248320);
  EXPECT_THAT(ranges, ElementsAre(TokenIdRange{0, 6000}, TokenIdRange{248044, 248077}));
}

TEST(ModelAssetsTest, RangesStopAtTheModelVocabulary) {
  EXPECT_THAT(AllowedTokenRanges(testing::TestTokenizer(), 100), ElementsAre(TokenIdRange{0, 100}));
}

TEST(ModelAssetsTest, Qwen36TemplateIsDetected) {
  const std::string dir = testing::MakeModelDir({.qwen36_template = true});
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const ModelAssets> a, LoadModelAssets(dir));
  EXPECT_EQ(a->template_variant, tokenizer::ChatTemplateVariant::kQwen36);
}

TEST(ModelAssetsTest, MissingDirectoryNamesThePath) {
  EXPECT_THAT(LoadModelAssets("/nonexistent/model").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/model")));
}

TEST(ModelAssetsTest, TiersFollowTheSpecTable) {
  for (const char* preset : {"0.8b", "2b", "4b", "9b", "27b"}) {
    ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset(preset));
    EXPECT_EQ(TierOfSpec(spec), preset);
  }
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("3.6-27b"));
  EXPECT_EQ(TierOfSpec(spec), "27b");
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec tiny, model::Qwen35Preset("tiny"));
  EXPECT_EQ(TierOfSpec(tiny), "custom");
  EXPECT_GT(TierRank("27b"), TierRank("9b"));
  EXPECT_GT(TierRank("0.8b"), TierRank("custom"));
}

}  // namespace
}  // namespace tpserve::coordinator
