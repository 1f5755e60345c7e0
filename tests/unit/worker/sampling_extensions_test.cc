// shard/sampling additions the serving scheduler uses: allowed token ranges and the thinking
// budget. Closed-form checks.
#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shard/sampling.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::shard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tpserve::testing::StatusIs;

std::vector<float> Logits(std::initializer_list<float> v) { return std::vector<float>(v); }

TEST(AllowedTokensTest, RangesAreNormalized) {
  const std::vector<TokenRange> n =
      NormalizeTokenRanges({{8, 10}, {0, 2}, {1, 4}, {10, 12}, {5, 5}});
  EXPECT_THAT(n, ElementsAre(TokenRange{0, 4}, TokenRange{8, 12}));
}

TEST(AllowedTokensTest, GreedyPicksTheBestAllowedId) {
  SamplingParams p;
  p.allowed_tokens = {{2, 4}};
  Sampler s(p);
  // The best id (0) is masked; of the allowed {2, 3}, 3 is best.
  EXPECT_EQ(s.Sample(Logits({9.0f, 8.0f, 1.0f, 2.0f, 7.0f}), {}), 3);
  // Ties among allowed ids go to the lowest.
  EXPECT_EQ(s.Sample(Logits({9.0f, 8.0f, 5.0f, 5.0f, 7.0f}), {}), 2);
}

TEST(AllowedTokensTest, SamplingRenormalizesOverTheAllowedIds) {
  // logits ln [1, 1, 1, 3]; allowed {1, 3}: p(3) = 3 / 4 exactly.
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 11;
  p.allowed_tokens = {{3, 4}, {1, 2}};
  Sampler s(p);
  const std::vector<float> logits = {0.0f, 0.0f, 0.0f, std::log(3.0f)};
  int threes = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const int32_t t = s.Sample(logits, {});
    ASSERT_TRUE(t == 1 || t == 3) << t;
    threes += t == 3;
  }
  EXPECT_NEAR(static_cast<double>(threes) / kDraws, 0.75, 0.015);
}

TEST(AllowedTokensTest, TopKCountsOnlyAllowedIds) {
  // top_k 1 over the allowed ids is greedy over them, even when sampling.
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 1;
  p.seed = 3;
  p.allowed_tokens = {{0, 2}};
  Sampler s(p);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Sample(Logits({0.5f, 1.0f, 9.0f}), {}), 1);
}

TEST(AllowedTokensTest, RangesPastTheVocabularyAreClipped) {
  SamplingParams p;
  p.allowed_tokens = {{2, 1000}};
  Sampler s(p);
  EXPECT_EQ(s.Sample(Logits({9.0f, 8.0f, 1.0f, 2.0f}), {}), 3);
  EXPECT_OK(p.ValidateForVocab(4));
  p.allowed_tokens = {{4, 1000}};
  EXPECT_THAT(p.ValidateForVocab(4),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vocabulary")));
}

TEST(AllowedTokensTest, ValidateNamesTheBadRange) {
  SamplingParams p;
  p.allowed_tokens = {{0, 4}, {5, 5}};
  EXPECT_THAT(p.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allowed_tokens[1]")));
  p.allowed_tokens = {{-1, 3}};
  EXPECT_THAT(p.Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allowed_tokens[0]")));
}

TEST(AllowedTokensTest, WithoutRangesTheDrawsAreUnchanged) {
  // A mask covering the whole vocabulary draws exactly what no mask draws (same seed).
  const std::vector<float> logits = {0.0f, 0.3f, 0.1f, 0.7f, 0.2f, 0.5f};
  auto draw = [&](std::vector<TokenRange> ranges) {
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_p = 0.95f;
    p.seed = 42;
    p.allowed_tokens = std::move(ranges);
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.Sample(logits, {}));
    return out;
  };
  EXPECT_EQ(draw({}), draw({{0, 6}}));
  EXPECT_EQ(draw({{0, 3}, {3, 6}}), draw({}));
}

TEST(AllowedTokensTest, SameSeedSameTokensWithRanges) {
  const std::vector<float> logits = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
  auto draw = [&](uint64_t seed) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.seed = seed;
    p.allowed_tokens = {{1, 3}, {5, 8}};
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.Sample(logits, {}));
    return out;
  };
  EXPECT_EQ(draw(5), draw(5));
  EXPECT_NE(draw(5), draw(6));
}

TEST(ThinkingBudgetTest, ForcesTheEndAfterTheBudget) {
  ThinkingBudget b(3, 99, /*in_thinking=*/true);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(b.Forced().has_value());
    b.Observe(i);
  }
  EXPECT_EQ(b.reasoning_tokens(), 3);
  EXPECT_EQ(b.Forced(), 99);
  b.Observe(99);
  EXPECT_FALSE(b.in_thinking());
  EXPECT_FALSE(b.Forced().has_value());  // the answer is not limited
}

TEST(ThinkingBudgetTest, AnEarlyEndStopsCounting) {
  ThinkingBudget b(5, 99, true);
  b.Observe(1);
  b.Observe(99);
  for (int i = 0; i < 10; ++i) b.Observe(i);
  EXPECT_FALSE(b.Forced().has_value());
  EXPECT_EQ(b.reasoning_tokens(), 1);
}

TEST(ThinkingBudgetTest, NoBudgetOrNoOpenBlockNeverForces) {
  ThinkingBudget unlimited(0, 99, true);
  ThinkingBudget closed(2, 99, false);
  for (int i = 0; i < 10; ++i) {
    unlimited.Observe(i);
    closed.Observe(i);
  }
  EXPECT_FALSE(unlimited.Forced().has_value());
  EXPECT_FALSE(closed.Forced().has_value());
}

}  // namespace
}  // namespace tpserve::shard
