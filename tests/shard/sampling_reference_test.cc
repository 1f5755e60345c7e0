// shard::Sampler against the sort-based sampler it replaced (tests/reference/
// sampling_reference.h): on random rows and parameters, the kept tokens must be the same set and
// their probabilities equal up to the rounding of sums taken in another order; plus closed-form
// frequency checks on the paths a 248k-id row takes, and the vector kernels against the
// portable ones.
#include "tests/reference/sampling_reference.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/base/cpu_features.h"
#include "shard/internal/sampling_kernels.h"
#include "shard/sampling.h"

namespace tpserve::shard {
namespace {

using internal::SamplingKernels;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kQwenVocab = 248320;

std::vector<const SamplingKernels*> KernelTables() {
  std::vector<const SamplingKernels*> tables = {&internal::kPortableSamplingKernels};
#if defined(__x86_64__)
  if (GetCpuFeatures().avx2_fma) tables.push_back(&internal::kAvx2SamplingKernels);
#endif
  return tables;
}

enum class RowKind { kGaussian, kFlat, kPeaked, kTies, kWithNegInf, kAscending, kNumKinds };

std::vector<float> MakeRow(RowKind kind, int64_t vocab, std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.0f, std::uniform_real_distribution<float>(1, 3)(rng));
  std::uniform_int_distribution<int64_t> id(0, vocab - 1);
  std::vector<float> row(static_cast<size_t>(vocab));
  switch (kind) {
    case RowKind::kGaussian:
      for (float& l : row) l = normal(rng);
      break;
    case RowKind::kFlat:
      std::fill(row.begin(), row.end(), 1.25f);
      break;
    case RowKind::kPeaked:
      for (float& l : row) l = normal(rng);
      for (int i = 0; i < 5; ++i) row[static_cast<size_t>(id(rng))] = 16.0f - 3.0f * i;
      break;
    case RowKind::kTies: {
      std::uniform_int_distribution<int> level(0, 3);
      for (float& l : row) l = 0.5f * static_cast<float>(level(rng));
      break;
    }
    case RowKind::kWithNegInf:
      for (float& l : row) l = std::bernoulli_distribution(0.3)(rng) ? -kInf : normal(rng);
      row[static_cast<size_t>(id(rng))] = 1.0f;  // at least one finite
      break;
    case RowKind::kAscending:
      for (size_t i = 0; i < row.size(); ++i) row[i] = 0.0001f * static_cast<float>(i);
      break;
    case RowKind::kNumKinds:
      break;
  }
  return row;
}

struct Case {
  SamplingParams params;
  std::vector<float> row;
  std::vector<int32_t> history;
  int64_t valid_vocab = 0;
  std::string name;
};

Case RandomCase(int64_t vocab, std::mt19937_64& rng) {
  auto pick = [&](auto values) {
    return values[std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng)];
  };
  Case c;
  const auto kind = static_cast<RowKind>(
      std::uniform_int_distribution<int>(0, static_cast<int>(RowKind::kNumKinds) - 1)(rng));
  c.row = MakeRow(kind, vocab, rng);
  SamplingParams& p = c.params;
  p.temperature = pick(std::vector<float>{0.0f, 0.3f, 0.7f, 1.0f, 1.7f});
  p.top_k = pick(std::vector<int32_t>{0, 0, 0, 1, 5, 20, 1024, 1500, 5000});
  // Values whose products with a token count are never whole: a boundary exactly on a rounding
  // tie would be decided by the order of a sum's terms.
  p.top_p = pick(std::vector<float>{1.0f, 1.0f, 0.3f, 0.8f, 0.95f, 0.999f});
  p.min_p = pick(std::vector<float>{0.0f, 0.0f, 0.0f, 0.01f, 0.05f, 0.3f, 1.0f});
  p.seed = rng();
  if (std::bernoulli_distribution(0.25)(rng)) {
    p.repetition_penalty = pick(std::vector<float>{1.3f, 0.8f});
    std::uniform_int_distribution<int32_t> id(-2, static_cast<int32_t>(vocab + 2));
    c.history.resize(std::min<size_t>(1000, static_cast<size_t>(vocab)));
    for (int32_t& t : c.history) t = id(rng);
  }
  if (std::bernoulli_distribution(0.3)(rng)) {
    std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(vocab + 10));
    const int ranges = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int i = 0; i < ranges; ++i) {
      const int32_t a = id(rng), b = id(rng);
      p.allowed_tokens.push_back({std::min(a, b), std::max(a, b) + 1});
    }
  }
  if (std::bernoulli_distribution(0.1)(rng)) {
    c.valid_vocab = std::uniform_int_distribution<int64_t>(1, vocab)(rng);
  }
  c.name = absl::StrCat("vocab ", vocab, " row ", static_cast<int>(kind), " T ", p.temperature,
                        " top_k ", p.top_k, " top_p ", p.top_p, " min_p ", p.min_p, " rep ",
                        p.repetition_penalty, " ranges ", p.allowed_tokens.size(), " valid ",
                        c.valid_vocab);
  return c;
}

// The tokens that can be drawn (probability > 0), by id.
std::vector<TokenProbability> Drawable(std::vector<TokenProbability> kept) {
  std::erase_if(kept, [](const TokenProbability& t) { return !(t.probability > 0); });
  std::sort(kept.begin(), kept.end(),
            [](const TokenProbability& a, const TokenProbability& b) { return a.id < b.id; });
  return kept;
}

void ExpectSameDistribution(const std::vector<TokenProbability>& got_all,
                            const std::vector<TokenProbability>& want_all,
                            const std::string& context) {
  const std::vector<TokenProbability> got = Drawable(got_all), want = Drawable(want_all);
  ASSERT_EQ(got.size(), want.size()) << context;
  double sum = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].id, want[i].id) << context << " at " << i;
    ASSERT_NEAR(got[i].probability, want[i].probability, 1e-6) << context << " id " << got[i].id;
    ASSERT_LE(std::fabs(got[i].probability - want[i].probability),
              1e-9 * want[i].probability + 1e-300)
        << context << " id " << got[i].id;
    sum += got[i].probability;
  }
  EXPECT_NEAR(sum, 1.0, 1e-9) << context;
}

void CheckCases(int64_t vocab, int cases, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < cases; ++i) {
    const Case c = RandomCase(vocab, rng);
    for (const SamplingKernels* kernels : KernelTables()) {
      const std::string context = absl::StrCat(c.name, " kernels ", kernels->name, " case ", i);
      Sampler sampler(c.params, *kernels);
      reference::ReferenceSampler reference(c.params);
      std::vector<TokenProbability> got, want;
      const int32_t token = sampler.SampleWithDistribution(c.row, c.history, c.valid_vocab, &got);
      const int32_t ref_token = reference.Sample(c.row, c.history, c.valid_vocab, &want);
      if (want.empty()) {  // greedy, or no allowed id below the vocabulary
        EXPECT_EQ(token, ref_token) << context;
        continue;
      }
      if (Drawable(want).empty()) {
        // Every candidate is -inf: the reference's softmax is NaN; the sampler takes the lowest.
        ASSERT_EQ(got.size(), 1u) << context;
        EXPECT_EQ(token, want.front().id) << context;
        continue;
      }
      ExpectSameDistribution(got, want, context);
      if (::testing::Test::HasFatalFailure()) return;
      const bool drawable = std::any_of(got.begin(), got.end(), [&](const TokenProbability& t) {
        return t.id == token && t.probability > 0;
      });
      EXPECT_TRUE(drawable) << context << " drew " << token;
    }
  }
}

TEST(SamplerReferenceTest, SmallVocabulariesMatchTheSortBasedSampler) {
  for (int64_t vocab : {1, 2, 3, 7, 64, 100}) CheckCases(vocab, 300, 1000 + vocab);
}

TEST(SamplerReferenceTest, MidVocabulariesMatchTheSortBasedSampler) {
  // 5000 and 20000 ids put the top-p crossing in the histogram path (too many near the max).
  for (int64_t vocab : {1000, 5000, 20000}) CheckCases(vocab, 60, 2000 + vocab);
}

TEST(SamplerReferenceTest, QwenVocabularyMatchesTheSortBasedSampler) {
  CheckCases(kQwenVocab, 14, 3000);
}

TEST(SamplerReferenceTest, QwenVocabularyEveryPath) {
  // The paths a full row can take, each at least once: temperature only (block draw), the small
  // top-k scan and its ascending-row fallback, the large top-k histogram, min-p alone and with
  // top-p, top-p near the max (peaked) and through the mass histogram (flat).
  struct PathCase {
    RowKind kind;
    float temperature;
    int32_t top_k;
    float top_p;
    float min_p;
  };
  const PathCase paths[] = {
      {RowKind::kGaussian, 0.7f, 0, 1.0f, 0.0f},     {RowKind::kGaussian, 0.7f, 20, 0.8f, 0.0f},
      {RowKind::kAscending, 1.0f, 20, 1.0f, 0.0f},   {RowKind::kGaussian, 1.0f, 5000, 0.9f, 0.0f},
      {RowKind::kGaussian, 0.7f, 0, 1.0f, 0.05f},    {RowKind::kGaussian, 1.0f, 0, 0.8f, 0.001f},
      {RowKind::kPeaked, 0.7f, 0, 0.8f, 0.0f},       {RowKind::kGaussian, 1.0f, 0, 0.95f, 0.0f},
      {RowKind::kTies, 1.0f, 0, 0.8f, 0.0f},         {RowKind::kFlat, 1.0f, 0, 0.55f, 0.0f},
      {RowKind::kWithNegInf, 1.0f, 0, 0.999f, 0.0f},
  };
  std::mt19937_64 rng(77);
  for (const PathCase& path : paths) {
    const std::vector<float> row = MakeRow(path.kind, kQwenVocab, rng);
    SamplingParams p;
    p.temperature = path.temperature;
    p.top_k = path.top_k;
    p.top_p = path.top_p;
    p.min_p = path.min_p;
    p.seed = 5;
    for (const SamplingKernels* kernels : KernelTables()) {
      const std::string context =
          absl::StrCat("row ", static_cast<int>(path.kind), " T ", p.temperature, " top_k ",
                       p.top_k, " top_p ", p.top_p, " min_p ", p.min_p, " ", kernels->name);
      Sampler sampler(p, *kernels);
      reference::ReferenceSampler reference(p);
      std::vector<TokenProbability> got, want;
      sampler.SampleWithDistribution(row, {}, 0, &got);
      reference.Sample(row, {}, 0, &want);
      ExpectSameDistribution(got, want, context);
    }
  }
}

TEST(SamplerReferenceTest, SmallTopKDrawsWhatTheSortBasedSamplerDrew) {
  // top_k <= 1024 runs the sort-based algorithm on the k best, so a seed gives the same tokens.
  std::mt19937_64 rng(11);
  for (int64_t vocab : {int64_t{50}, int64_t{5000}, kQwenVocab}) {
    const std::vector<float> row = MakeRow(RowKind::kGaussian, vocab, rng);
    for (int32_t k : {1, 20, 40, 1024}) {
      SamplingParams p;
      p.temperature = 0.9f;
      p.top_k = k;
      p.top_p = 0.95f;
      p.min_p = 0.01f;
      p.seed = 99;
      Sampler sampler(p);
      reference::ReferenceSampler reference(p);
      for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(sampler.Sample(row, {}), reference.Sample(row, {})) << vocab << " " << k;
      }
    }
  }
}

// Draws `n` tokens and returns how often each id came up.
std::vector<int> Frequencies(Sampler& sampler, const std::vector<float>& row, int n) {
  std::vector<int> counts(row.size());
  for (int i = 0; i < n; ++i) ++counts[static_cast<size_t>(sampler.Sample(row, {}))];
  return counts;
}

TEST(SamplerClosedFormTest, SoftmaxFrequenciesPassAChiSquareTest) {
  // p = [0.5, 0.3, 0.2] at temperature 1: 2 degrees of freedom, 99.9% quantile 13.8.
  const std::vector<float> row = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  const double p[] = {0.5, 0.3, 0.2};
  SamplingParams params;
  params.temperature = 1.0f;
  params.seed = 2024;
  for (const SamplingKernels* kernels : KernelTables()) {
    Sampler sampler(params, *kernels);
    constexpr int kDraws = 30000;
    const std::vector<int> counts = Frequencies(sampler, row, kDraws);
    double chi2 = 0;
    for (int i = 0; i < 3; ++i) {
      const double expected = kDraws * p[i];
      chi2 += (counts[static_cast<size_t>(i)] - expected) *
              (counts[static_cast<size_t>(i)] - expected) / expected;
    }
    EXPECT_LT(chi2, 13.8) << kernels->name;
  }
}

TEST(SamplerClosedFormTest, TopPKeepsTheShortestPrefixReachingIt) {
  // p = [0.5, 0.3, 0.2]: top_p 0.6 keeps {0, 1} (0.5 < 0.6 <= 0.8), renormalized to 5/8, 3/8.
  const std::vector<float> row = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_p = 0.6f;
  params.seed = 8;
  Sampler sampler(params);
  std::vector<TokenProbability> kept;
  sampler.SampleWithDistribution(row, {}, 0, &kept);
  kept = Drawable(kept);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].id, 0);
  EXPECT_EQ(kept[1].id, 1);
  EXPECT_NEAR(kept[0].probability, 0.625, 1e-6);
  EXPECT_NEAR(kept[1].probability, 0.375, 1e-6);
  params.top_p = 0.4f;  // the best alone reaches it
  Sampler first(params);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(first.Sample(row, {}), 0);
}

TEST(SamplerClosedFormTest, FullVocabularyTopPThroughTheHistogram) {
  // 10,000 ids at logit ln 3 and the other 238,320 at 0: mass 30,000 + 238,320 = 268,320.
  // top_p 0.5 needs 134,160: the 10,000, then the first 104,160 of the rest (ties go to lower
  // ids). Kept mass 134,160, so the ln 3 group is drawn with p = 30,000 / 134,160.
  std::vector<float> row(static_cast<size_t>(kQwenVocab), 0.0f);
  std::fill(row.begin(), row.begin() + 10000, std::log(3.0f));
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_p = 0.5f;
  params.seed = 31;
  for (const SamplingKernels* kernels : KernelTables()) {
    Sampler sampler(params, *kernels);
    std::vector<TokenProbability> kept;
    sampler.SampleWithDistribution(row, {}, 0, &kept);
    kept = Drawable(kept);
    ASSERT_EQ(kept.size(), 10000u + 104160u) << kernels->name;
    EXPECT_EQ(kept.back().id, 10000 + 104160 - 1);
    // (ln 3 rounds to a float, so the odds are 3 up to 1e-7.)
    EXPECT_NEAR(kept.front().probability, 3.0 / 134160, 1e-10);
    EXPECT_NEAR(kept.back().probability, 1.0 / 134160, 1e-10);
  }
  Sampler sampler(params);
  constexpr int kDraws = 1500;
  int group = 0;
  for (int i = 0; i < kDraws; ++i) {
    const int32_t t = sampler.Sample(row, {});
    ASSERT_LT(t, 10000 + 104160);
    group += t < 10000;
  }
  // sd of the fraction: sqrt(p (1 - p) / n) = 0.011; 4.5 sd.
  EXPECT_NEAR(static_cast<double>(group) / kDraws, 30000.0 / 134160, 0.05);
}

TEST(SamplerClosedFormTest, FullVocabularyTemperatureAndMinP) {
  // Temperature 0.5 squares the odds: ids [0, 1000) at ln 2 weigh 4 against 1 for the rest.
  std::vector<float> row(static_cast<size_t>(kQwenVocab), 0.0f);
  std::fill(row.begin(), row.begin() + 1000, std::log(2.0f));
  SamplingParams params;
  params.temperature = 0.5f;
  params.seed = 3;
  Sampler sampler(params);
  constexpr int kDraws = 1500;
  const double p_group = 4000.0 / (4000.0 + (kQwenVocab - 1000));
  int group = 0;
  for (int i = 0; i < kDraws; ++i) group += sampler.Sample(row, {}) < 1000;
  // sd 0.0032; 4.6 sd.
  EXPECT_NEAR(static_cast<double>(group) / kDraws, p_group, 0.015);
  // min_p 0.3 keeps p >= 0.3 · p_max: only the group (the rest has 1/4 of p_max).
  params.min_p = 0.3f;
  for (const SamplingKernels* kernels : KernelTables()) {
    Sampler kept(params, *kernels);
    for (int i = 0; i < 200; ++i) ASSERT_LT(kept.Sample(row, {}), 1000) << kernels->name;
  }
}

TEST(SamplerClosedFormTest, NonFiniteRowsPickTheBestLowestId) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_p = 0.9f;
  params.seed = 1;
  Sampler sampler(params);
  EXPECT_EQ(sampler.Sample(std::vector<float>{-kInf, -kInf, -kInf}, {}), 0);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1.0f, kInf, 2.0f, kInf}, {}), 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(sampler.Sample(std::vector<float>{nan, 0.0f, nan, 30.0f}, {}), 3);
  EXPECT_EQ(sampler.Sample(std::vector<float>{nan, nan}, {}), 0);
  params.allowed_tokens = {{2, 4}};
  Sampler masked(params);
  EXPECT_EQ(masked.Sample(std::vector<float>{5.0f, 5.0f, -kInf, -kInf}, {}), 2);
}

// The vector kernels compute what the portable ones do: the same floats, bucket keys and
// selections exactly, exps within 1e-14 relative.
TEST(SamplingKernelsTest, VectorTablesMatchThePortableOne) {
  const std::vector<const SamplingKernels*> tables = KernelTables();
  if (tables.size() < 2) GTEST_SKIP() << "no vector kernels on this CPU";
  const SamplingKernels& ref = *tables[0];
  std::mt19937_64 rng(4);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (int64_t n : {1, 3, 7, 8, 9, 15, 16, 17, 31, 100, 1027}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = normal(rng);
    if (n > 4) {
      x[1] = -kInf;
      x[3] = std::numeric_limits<float>::quiet_NaN();
    }
    const float scale = 1.0f / 0.7f;
    for (const SamplingKernels* k : tables) {
      float lo, hi, ref_lo, ref_hi;
      k->min_max(x.data(), n, &lo, &hi);
      ref.min_max(x.data(), n, &ref_lo, &ref_hi);
      EXPECT_EQ(lo, ref_lo) << k->name << " " << n;
      EXPECT_EQ(hi, ref_hi) << k->name << " " << n;
      const float m = hi * scale;
      std::vector<double> e(x.size()), ref_e(x.size());
      const double sum = k->exp_sum(x.data(), n, scale, m, e.data());
      const double ref_sum = ref.exp_sum(x.data(), n, scale, m, ref_e.data());
      EXPECT_NEAR(sum, ref_sum, 1e-13 * ref_sum) << k->name << " " << n;
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_LE(std::fabs(e[i] - ref_e[i]), 1e-14 * ref_e[i]) << k->name << " " << i;
      }
      std::vector<uint16_t> keys(x.size()), ref_keys(x.size());
      k->bucket_keys(x.data(), n, scale, m, 64.0f, keys.data());
      ref.bucket_keys(x.data(), n, scale, m, 64.0f, ref_keys.data());
      EXPECT_EQ(keys, ref_keys) << k->name << " " << n;
      for (bool inclusive : {false, true}) {
        for (float threshold : {-kInf, -1.0f, m, m - 3.0f}) {
          std::vector<int32_t> got(x.size()), want(x.size());
          got.resize(static_cast<size_t>(
              k->collect_above(x.data(), n, scale, threshold, inclusive, 5, got.data())));
          want.resize(static_cast<size_t>(
              ref.collect_above(x.data(), n, scale, threshold, inclusive, 5, want.data())));
          EXPECT_EQ(got, want) << k->name << " " << n << " " << threshold;
        }
      }
      for (uint16_t lo_key : {0, 100, 4095}) {
        std::vector<int32_t> got(x.size()), want(x.size());
        const uint16_t hi_key = static_cast<uint16_t>(std::min(4095, lo_key + 200));
        got.resize(
            static_cast<size_t>(k->collect_keys(keys.data(), n, lo_key, hi_key, 0, got.data())));
        want.resize(
            static_cast<size_t>(ref.collect_keys(keys.data(), n, lo_key, hi_key, 0, want.data())));
        EXPECT_EQ(got, want) << k->name << " " << n << " keys " << lo_key;
      }
    }
  }
  // exp itself, across the range the sampler uses.
  std::vector<float> x;
  for (float v = -707.0f; v <= 0.0f; v += 0.37f) x.push_back(v);
  x.push_back(-708.5f);  // below kMinExpArg: 0
  std::vector<double> e(x.size()), ref_e(x.size());
  tables[1]->exp_sum(x.data(), static_cast<int64_t>(x.size()), 1.0f, 0.0, e.data());
  ref.exp_sum(x.data(), static_cast<int64_t>(x.size()), 1.0f, 0.0, ref_e.data());
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_LE(std::fabs(e[i] - ref_e[i]), 1e-14 * ref_e[i]) << x[i];
  }
  EXPECT_EQ(e.back(), 0.0);
}

}  // namespace
}  // namespace tpserve::shard
