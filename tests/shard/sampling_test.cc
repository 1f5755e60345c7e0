#include "shard/sampling.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::shard {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

TEST(SamplingTest, GreedyPicksArgmaxAndBreaksTiesByLowestId) {
  Sampler s(SamplingParams{});
  EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.9f}, {}), 1);
  EXPECT_EQ(s.Sample(std::vector<float>{5.0f, 1.0f, 5.0f}, {}), 0);
}

TEST(SamplingTest, ValidVocabMasksPaddingRows) {
  Sampler s(SamplingParams{});
  EXPECT_EQ(s.Sample(std::vector<float>{0.0f, 1.0f, 9.0f}, {}, /*valid_vocab=*/2), 1);
}

TEST(SamplingTest, TemperatureSamplesTheSoftmax) {
  // logits [0, ln 3] at temperature 1: p = [1/4, 3/4].
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 7;
  Sampler s(p);
  const std::vector<float> logits = {0.0f, std::log(3.0f)};
  int ones = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) ones += s.Sample(logits, {});
  EXPECT_NEAR(static_cast<double>(ones) / kDraws, 0.75, 0.015);
}

TEST(SamplingTest, TemperatureSharpensAndFlattens) {
  // At temperature 0.5 the odds square: p(1) = 9/10.
  SamplingParams p;
  p.temperature = 0.5f;
  p.seed = 3;
  Sampler s(p);
  const std::vector<float> logits = {0.0f, std::log(3.0f)};
  int ones = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) ones += s.Sample(logits, {});
  EXPECT_NEAR(static_cast<double>(ones) / kDraws, 0.9, 0.01);
}

TEST(SamplingTest, SameSeedSameTokensDifferentSeedDifferentTokens) {
  const std::vector<float> logits = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
  auto draw = [&](uint64_t seed) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.Sample(logits, {}));
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(SamplingTest, TopKKeepsOnlyTheKBest) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  p.seed = 1;
  Sampler s(p);
  // Top 2 are ids 3 (logit 1) and 0 (logit 0): p = e/(1+e) and 1/(1+e).
  const std::vector<float> logits = {0.0f, -1.0f, -2.0f, 1.0f};
  int threes = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const int32_t t = s.Sample(logits, {});
    ASSERT_TRUE(t == 0 || t == 3) << t;
    threes += t == 3;
  }
  EXPECT_NEAR(static_cast<double>(threes) / kDraws, std::exp(1.0) / (1 + std::exp(1.0)), 0.015);
}

TEST(SamplingTest, TopPCutsTheTail) {
  // p = [0.5, 0.3, 0.2] (logits are logs). top_p 0.7 keeps {0, 1} (0.5 + 0.3 >= 0.7).
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.7f;
  p.seed = 5;
  Sampler s(p);
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  int zeros = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const int32_t t = s.Sample(logits, {});
    ASSERT_NE(t, 2);
    zeros += t == 0;
  }
  EXPECT_NEAR(static_cast<double>(zeros) / kDraws, 0.5 / 0.8, 0.015);
}

TEST(SamplingTest, MinPDropsTokensBelowAFractionOfTheBest) {
  // p = [0.6, 0.3, 0.1]; min_p 0.4 keeps tokens with p >= 0.24: {0, 1}.
  SamplingParams p;
  p.temperature = 1.0f;
  p.min_p = 0.4f;
  p.seed = 9;
  Sampler s(p);
  const std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  for (int i = 0; i < 5000; ++i) ASSERT_NE(s.Sample(logits, {}), 2);
}

TEST(SamplingTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  Sampler s(p);
  // Token 0 seen: 2.0 -> 1.0 < 1.9, so greedy picks 1.
  EXPECT_EQ(s.Sample(std::vector<float>{2.0f, 1.9f}, std::vector<int32_t>{0, 0}), 1);
  // Token 1 seen with a negative logit: -0.5 -> -1.0 < -0.9, so greedy picks 0.
  EXPECT_EQ(s.Sample(std::vector<float>{-0.9f, -0.5f}, std::vector<int32_t>{1}), 0);
}

TEST(SamplingTest, ValidateNamesTheField) {
  SamplingParams p;
  p.temperature = -1.0f;
  EXPECT_THAT(p.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("temperature")));
  p = SamplingParams{};
  p.top_p = 0.0f;
  EXPECT_THAT(p.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("top_p")));
  p = SamplingParams{};
  p.top_k = -2;
  EXPECT_THAT(p.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("top_k")));
  p = SamplingParams{};
  p.min_p = 1.5f;
  EXPECT_THAT(p.Validate(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("min_p")));
  p = SamplingParams{};
  p.repetition_penalty = 0.0f;
  EXPECT_THAT(p.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repetition_penalty")));
  EXPECT_OK(SamplingParams{}.Validate());
}

}  // namespace
}  // namespace tpserve::shard
