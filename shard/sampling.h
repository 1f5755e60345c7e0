// Token sampling from one row of logits.
//
// Order of the transforms (the same as Hugging Face's generate: processors, then warpers):
//   repetition penalty → temperature → top-k → top-p → min-p → draw.
// temperature == 0 is greedy (argmax; ties go to the lowest id). A Sampler owns a seeded
// generator, so the same seed and the same logits give the same tokens.
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

struct SamplingParams {
  float temperature = 0.0f;         // 0: greedy
  int32_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off (CTRL-style: logit / p if > 0 else logit · p)
  std::optional<uint64_t> seed;     // none: seeded from std::random_device

  // InvalidArgument naming the field and its allowed range.
  absl::Status Validate() const;
  bool greedy() const { return temperature == 0.0f; }
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks a token from `logits` [vocab]. `history` holds the prompt and generated tokens (for the
  // repetition penalty). Only ids < `valid_vocab` are candidates (0: all).
  int32_t Sample(absl::Span<const float> logits, absl::Span<const int32_t> history,
                 int64_t valid_vocab = 0);

  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<float> work_;
  std::vector<int32_t> order_;
  std::vector<bool> penalized_;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_SAMPLING_H_
