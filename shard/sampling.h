// Token sampling from one row of logits.
//
// Order of the transforms (the same as Hugging Face's generate: processors, then warpers):
//   allowed-token mask → repetition penalty → temperature → top-k → top-p → min-p → draw.
// temperature == 0 is greedy (argmax; ties go to the lowest id). A Sampler owns a seeded
// generator, so the same seed and the same logits give the same tokens; a request without a
// mask draws exactly what it drew before masks existed.
//
// ThinkingBudget is the other per-sequence hook the serving scheduler needs: it counts reasoning
// tokens and, once a budget is spent, names the token to emit instead of sampling.
#ifndef TPSERVE_SHARD_SAMPLING_H_
#define TPSERVE_SHARD_SAMPLING_H_

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tpserve::shard {

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

// Not thread-safe; one per sequence.
class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks a token from `logits` [vocab]. `history` holds the prompt and generated tokens (for the
  // repetition penalty). Only ids < `valid_vocab` (0: all) and inside the allowed ranges are
  // candidates; when no id is (ValidateForVocab rules it out), the lowest allowed id is returned.
  int32_t Sample(absl::Span<const float> logits, absl::Span<const int32_t> history,
                 int64_t valid_vocab = 0);

  const SamplingParams& params() const { return params_; }

 private:
  // Fills candidates_ with the allowed ids below `vocab`, ascending.
  void CollectCandidates(int64_t vocab);

  SamplingParams params_;
  std::vector<TokenRange> allowed_;  // normalized; empty: all
  std::mt19937_64 rng_;
  std::vector<float> work_;
  std::vector<int32_t> candidates_;
  std::vector<int32_t> order_;
  std::vector<double> probs_;
  std::vector<bool> penalized_;
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
