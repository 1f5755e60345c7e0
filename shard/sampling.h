// Token sampling from one row of logits.
//
// Order of the transforms (the same as Hugging Face's generate: processors, then warpers):
//   allowed-token mask → repetition penalty → temperature → top-k → top-p → min-p → draw.
// temperature == 0 is greedy (argmax; ties go to the lowest id). A Sampler owns a seeded
// generator, so the same seed and the same logits give the same tokens; a request without a
// mask draws exactly what it drew before masks existed.
//
// Tokens are ordered by their temperature-scaled logit, ties by the lower id; top-k keeps the
// first k, top-p the shortest prefix of that order whose probability reaches top_p, min-p the
// tokens with at least min_p times the best one's probability. Sample costs a few linear passes
// over the vocabulary and never sorts it, whatever the parameters (sampling.cc says how;
// shard/bench/sampling_bench.cc measures it).
//
// ThinkingBudget is the other per-sequence hook the serving scheduler needs: it counts reasoning
// tokens and, once a budget is spent, names the token to emit instead of sampling.
#ifndef TPSERVE_SHARD_SAMPLING_H_
#define TPSERVE_SHARD_SAMPLING_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tpserve::shard {

namespace internal {
struct SamplingKernels;
// A span of the candidates a Sampler draws from: positions [pos, pos + count) of its view, with
// values x (scaled by the view's scale) and ids first_id + j, or ids[j] when ids is set.
struct SamplerChunk {
  const float* x = nullptr;
  const int32_t* ids = nullptr;
  int32_t first_id = 0;
  int64_t count = 0;
  int64_t pos = 0;
};
// One candidate in a selection: its scaled logit (NaN read as -inf), id and view position.
struct SamplerItem {
  float s = 0.0f;
  int32_t id = 0;
  int32_t pos = 0;
};
}  // namespace internal

// A half-open range [begin, end) of token ids.
struct TokenRange {
  int32_t begin = 0;
  int32_t end = 0;
  bool operator==(const TokenRange&) const = default;
};

struct SamplingParams {
  float temperature = 0.0f;         // 0: greedy
  int32_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off (CTRL-style: logit / p if > 0 else logit · p)
  std::optional<uint64_t> seed;     // none: seeded from std::random_device
  // Ids the sampler may pick: those inside at least one range (greedy included). Empty: all.
  // Ranges may overlap and come in any order.
  std::vector<TokenRange> allowed_tokens;

  // InvalidArgument naming the field and its allowed range: the bounds of
  // ops/base/sampling_bounds.h (the coordinator's too), and well-formed allowed ranges.
  absl::Status Validate() const;
  // Validate(), and at least one allowed id below `vocab` (InvalidArgument otherwise).
  absl::Status ValidateForVocab(int64_t vocab) const;
  bool greedy() const { return temperature == 0.0f; }
};

// Sorted, merged, non-empty ranges covering the same ids as `ranges`.
std::vector<TokenRange> NormalizeTokenRanges(absl::Span<const TokenRange> ranges);

// A kept token and the probability it was drawn with.
struct TokenProbability {
  int32_t id = 0;
  double probability = 0.0;
};

// Not thread-safe; one per sequence.
class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // Pins the kernel table (tests and benchmarks compare the portable and vector ones).
  Sampler(const SamplingParams& params, const internal::SamplingKernels& kernels);

  // Picks a token from `logits` [vocab]. `history` holds the prompt and generated tokens (for the
  // repetition penalty). Only ids < `valid_vocab` (0: all) and inside the allowed ranges are
  // candidates; when no id is (ValidateForVocab rules it out), the lowest allowed id is returned.
  int32_t Sample(absl::Span<const float> logits, absl::Span<const int32_t> history,
                 int64_t valid_vocab = 0);
  // The same draw, also listing the kept tokens and their probabilities (summing to 1) in
  // `kept`: for tests and debugging (it walks every kept token).
  int32_t SampleWithDistribution(absl::Span<const float> logits, absl::Span<const int32_t> history,
                                 int64_t valid_vocab, std::vector<TokenProbability>* kept);

  const SamplingParams& params() const { return params_; }

 private:
  using Chunk = internal::SamplerChunk;
  using Item = internal::SamplerItem;

  int32_t SampleImpl(absl::Span<const float> logits, absl::Span<const int32_t> history,
                     int64_t valid_vocab);
  // chunks_ = the allowed ids below `vocab` (values not yet set), n_ = their count.
  void BuildView(int64_t vocab);
  // work_ = the candidates' logits with the repetition penalty applied; returns work_.data().
  const float* Penalize(const float* logits, int64_t vocab, absl::Span<const int32_t> history);
  void ViewMinMax(float* min_finite, float* max) const;
  // The lowest id whose scaled value equals `value`, the view's maximum (the first candidate
  // when none does: all NaN).
  int32_t FirstWithValue(float value);
  int32_t IdAt(int64_t pos) const;
  Item MakeItem(const Chunk& c, int64_t j) const;
  // top_k <= kSmallTopK: a threshold scan, a sort of the k best and the sort-based algorithm on
  // them. Gives up (nullopt) on rows where the scan keeps too many (ascending logits).
  std::optional<int32_t> SampleSmallTopK(int64_t k);
  // Makes the view the k best candidates, in id order, through a histogram of bucket counts.
  void SelectTopK(int64_t k, float max, float min_finite);
  int32_t SampleView(float max, float min_finite);
  // items_ = the candidates with a scaled value >= threshold, in id order; false once more than
  // `cap` (>= 0) are found.
  bool CollectAtLeast(float threshold, int64_t cap);
  // `out` = the candidates in buckets [lo, hi], in id order.
  void CollectBuckets(uint16_t lo, uint16_t hi, std::vector<Item>* out);
  void ComputeKeys(float max, float inv_width);
  // e_ for the whole view; block_mass_ per kBlock positions; returns the total.
  double ExpPass(float max);
  // The first item (in the sampler's order) at which cum + mass reaches target; reorders items_
  // (which come in id order) so that items_[0, returned] are the items up to it. kept_mass =
  // cum + their mass.
  size_t FindCrossing(double cum, double target, double* kept_mass);
  int32_t SampleTopPHistogram(float max, float min_finite, double target);
  int32_t DrawAll(double total);
  int32_t DrawItems(size_t count, double mass);
  double Uniform(double total);
  void Record(int32_t id, double probability);

  SamplingParams params_;
  std::vector<TokenRange> allowed_;  // normalized; empty: all
  const internal::SamplingKernels* kernels_;
  std::mt19937_64 rng_;
  std::vector<TokenProbability>* distribution_ = nullptr;  // during SampleWithDistribution

  // Scratch, reused across calls.
  std::vector<Chunk> chunks_;
  int64_t n_ = 0;                   // candidates in the view
  float view_scale_ = 1.0f;         // what chunk values are multiplied by (1 / temperature)
  std::vector<float> work_;         // [vocab] penalized logits
  std::vector<uint8_t> seen_;       // [vocab] history ids already penalized (cleared after)
  std::vector<float> list_values_;  // the top-k view: scaled logits
  std::vector<int32_t> list_ids_;   // and ids
  std::vector<double> e_;           // [n_] exp(s - max) per position
  std::vector<double> block_mass_;  // sum of e_ per kBlock positions
  std::vector<uint16_t> keys_;      // [n_] histogram bucket per position
  std::vector<double> bucket_mass_;
  std::vector<uint32_t> bucket_count_;
  std::vector<int32_t> positions_;
  std::vector<Item> items_;
  std::vector<Item> draw_items_;
  std::vector<float> gather_values_;
  std::vector<double> gather_e_;
  std::vector<double> probs_;
};

// The reasoning budget of one sequence (GenerateRequest.thinking_budget): after `budget` tokens
// inside a reasoning block without its end token, Forced() returns `end_token_id`, which the
// caller emits instead of a sampled token. The block is the one the prompt leaves open
// (`in_thinking`); a block the model opens itself is not tracked (no start id is known).
//
//   ThinkingBudget budget(512, think_end_id, /*in_thinking=*/true);
//   int32_t t = budget.Forced().value_or(sampler.Sample(row, history));
//   budget.Observe(t);
class ThinkingBudget {
 public:
  ThinkingBudget() = default;
  // budget <= 0: no limit.
  ThinkingBudget(int32_t budget, int32_t end_token_id, bool in_thinking)
      : budget_(budget), end_token_id_(end_token_id), in_thinking_(in_thinking) {}

  // The token to emit next instead of sampling, when the budget is spent.
  std::optional<int32_t> Forced() const {
    if (in_thinking_ && budget_ > 0 && reasoning_tokens_ >= budget_) return end_token_id_;
    return std::nullopt;
  }
  // Records an emitted token (sampled or forced).
  void Observe(int32_t token) {
    if (!in_thinking_) return;
    if (token == end_token_id_) {
      in_thinking_ = false;
    } else {
      ++reasoning_tokens_;
    }
  }
  bool in_thinking() const { return in_thinking_; }
  int32_t reasoning_tokens() const { return reasoning_tokens_; }

 private:
  int32_t budget_ = 0;
  int32_t end_token_id_ = -1;
  bool in_thinking_ = false;
  int32_t reasoning_tokens_ = 0;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_SAMPLING_H_
