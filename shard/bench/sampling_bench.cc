// Cost of one shard::Sampler::Sample over the Qwen3.5 vocabulary (248,320 ids), per parameter
// combination, next to the sort-based sampler it replaced (tests/reference/sampling_reference.h,
// "legacy"). "avx2" is the table this CPU dispatches to, "portable" the plain C++ one.
//
// Rows: Gaussian logits with sd 2 and 3 (a flat, random-weight-like row) and a peaked row (a
// few tokens far above a Gaussian tail, as trained models give). One benchmark iteration is one
// sampled token; compare its time with the decode step (`tpserve bench`).
//
//   ./build/shard/tpserve_sampling_bench --benchmark_filter='t0.7_p0.8/'
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "shard/internal/sampling_kernels.h"
#include "shard/sampling.h"
#include "tests/reference/sampling_reference.h"

namespace tpserve::shard {
namespace {

constexpr int64_t kVocab = 248320;

enum class Row { kGaussian2, kGaussian3, kPeaked };

std::vector<float> MakeRow(Row row) {
  std::mt19937_64 rng(static_cast<uint64_t>(row) + 17);
  std::normal_distribution<float> normal(0.0f, row == Row::kGaussian3 ? 3.0f : 2.0f);
  std::vector<float> logits(static_cast<size_t>(kVocab));
  for (float& l : logits) l = normal(rng);
  if (row == Row::kPeaked) {
    // Six tokens 8-18 above the tail: the best holds most of the mass at temperature 0.7.
    std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(kVocab - 1));
    for (int i = 0; i < 6; ++i) logits[static_cast<size_t>(id(rng))] = 18.0f - 2.0f * i;
  }
  return logits;
}

const std::vector<float>& RowLogits(Row row) {
  static const std::vector<float> rows[] = {MakeRow(Row::kGaussian2), MakeRow(Row::kGaussian3),
                                            MakeRow(Row::kPeaked)};
  return rows[static_cast<int>(row)];
}

// A 1k-token history of random ids (the repetition penalty's input).
const std::vector<int32_t>& History() {
  static const std::vector<int32_t> history = [] {
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(kVocab - 1));
    std::vector<int32_t> h(1024);
    for (int32_t& t : h) t = id(rng);
    return h;
  }();
  return history;
}

struct Combo {
  std::string name;
  SamplingParams params;
  bool history = false;
};

std::vector<Combo> Combos() {
  auto with = [](float temperature, int32_t top_k, float top_p, float min_p) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = 42;
    return p;
  };
  SamplingParams penalized = with(0.7f, 0, 0.8f, 0.0f);
  penalized.repetition_penalty = 1.1f;
  SamplingParams masked = with(0.7f, 0, 0.8f, 0.0f);
  // 64 ranges covering every other 1,940-id stretch: half the vocabulary.
  for (int32_t r = 0; r < 128; r += 2) masked.allowed_tokens.push_back({r * 1940, (r + 1) * 1940});
  std::vector<Combo> combos = {
      {"greedy", with(0.0f, 0, 1.0f, 0.0f)},
      {"t0.7", with(0.7f, 0, 1.0f, 0.0f)},
      {"t0.7_p0.8", with(0.7f, 0, 0.8f, 0.0f)},
      {"t1.0_p0.95", with(1.0f, 0, 0.95f, 0.0f)},
      {"t0.7_k20_p0.8", with(0.7f, 20, 0.8f, 0.0f)},
      {"t0.7_k5000", with(0.7f, 5000, 1.0f, 0.0f)},
      {"t0.7_minp0.05", with(0.7f, 0, 1.0f, 0.05f)},
      {"t0.7_p0.8_minp0.05", with(0.7f, 0, 0.8f, 0.05f)},
      {"t0.7_p0.8_rep1.1_hist1k", penalized, true},
      {"t0.7_p0.8_allowed_half", masked},
  };
  return combos;
}

enum class Impl { kLegacy, kNew, kPortable };

void BM_Sample(benchmark::State& state, Impl impl, Combo combo, Row row) {
  const std::vector<float>& logits = RowLogits(row);
  const std::vector<int32_t> empty;
  const std::vector<int32_t>& history = combo.history ? History() : empty;
  if (impl == Impl::kLegacy) {
    reference::ReferenceSampler sampler(combo.params);
    for (auto _ : state) benchmark::DoNotOptimize(sampler.Sample(logits, history));
  } else {
    Sampler sampler(combo.params, impl == Impl::kNew ? internal::ActiveSamplingKernels()
                                                     : internal::kPortableSamplingKernels);
    for (auto _ : state) benchmark::DoNotOptimize(sampler.Sample(logits, history));
  }
}

const bool kRegistered = [] {
  const std::pair<Row, const char*> rows[] = {
      {Row::kGaussian2, "gauss2"}, {Row::kGaussian3, "gauss3"}, {Row::kPeaked, "peaked"}};
  for (const Combo& combo : Combos()) {
    for (const auto& [row, row_name] : rows) {
      for (Impl impl : {Impl::kLegacy, Impl::kNew, Impl::kPortable}) {
        const char* impl_name = impl == Impl::kLegacy ? "legacy"
                                : impl == Impl::kNew  ? internal::ActiveSamplingKernels().name
                                                      : "portable";
        if (impl == Impl::kPortable &&
            internal::ActiveSamplingKernels().name == internal::kPortableSamplingKernels.name) {
          continue;
        }
        benchmark::RegisterBenchmark(
            absl::StrCat("Sample/", combo.name, "/", row_name, "/", impl_name).c_str(), BM_Sample,
            impl, combo, row)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  return true;
}();

}  // namespace
}  // namespace tpserve::shard
