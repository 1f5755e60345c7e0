// The sort-based sampler that shard::Sampler replaced (issue 11), kept as the obviously correct
// reference: it sorts every candidate by scaled logit (ties by id), takes the softmax of the
// top-k prefix in double, cuts the prefix at top_p and at min_p, and draws along the sorted
// order. Header-only, so both the tests and the sampling benchmark (as its "legacy" variant)
// can use it without a library edge.
#ifndef TPSERVE_TESTS_REFERENCE_SAMPLING_REFERENCE_H_
#define TPSERVE_TESTS_REFERENCE_SAMPLING_REFERENCE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "absl/types/span.h"
#include "shard/sampling.h"

namespace tpserve::reference {

class ReferenceSampler {
 public:
  explicit ReferenceSampler(const shard::SamplingParams& params)
      : params_(params),
        allowed_(shard::NormalizeTokenRanges(params.allowed_tokens)),
        rng_(params.seed.has_value() ? *params.seed : std::random_device{}()) {}

  // As shard::Sampler::SampleWithDistribution; `kept` (may be null) lists the kept tokens in
  // sorted order with their probabilities.
  int32_t Sample(absl::Span<const float> logits, absl::Span<const int32_t> history,
                 int64_t valid_vocab = 0, std::vector<shard::TokenProbability>* kept = nullptr) {
    if (kept != nullptr) kept->clear();
    const int64_t vocab = valid_vocab > 0
                              ? std::min<int64_t>(valid_vocab, static_cast<int64_t>(logits.size()))
                              : static_cast<int64_t>(logits.size());
    std::vector<int32_t> candidates;
    if (allowed_.empty()) {
      candidates.resize(static_cast<size_t>(vocab));
      std::iota(candidates.begin(), candidates.end(), 0);
    } else {
      for (const shard::TokenRange& r : allowed_) {
        for (int64_t id = r.begin; id < std::min<int64_t>(r.end, vocab); ++id) {
          candidates.push_back(static_cast<int32_t>(id));
        }
      }
    }
    if (candidates.empty()) return allowed_.empty() ? 0 : allowed_.front().begin;
    std::vector<float> work(logits.begin(), logits.begin() + vocab);
    if (params_.repetition_penalty != 1.0f) {
      const float p = params_.repetition_penalty;
      std::vector<bool> penalized(static_cast<size_t>(vocab), false);
      for (int32_t id : history) {
        if (id < 0 || id >= vocab || penalized[static_cast<size_t>(id)]) continue;
        penalized[static_cast<size_t>(id)] = true;
        float& l = work[static_cast<size_t>(id)];
        l = l > 0.0f ? l / p : l * p;
      }
    }
    if (params_.greedy()) {
      int32_t best = candidates[0];
      for (int32_t id : candidates) {
        if (work[static_cast<size_t>(id)] > work[static_cast<size_t>(best)]) best = id;
      }
      return best;
    }
    const float inv_t = 1.0f / params_.temperature;
    for (int32_t id : candidates) work[static_cast<size_t>(id)] *= inv_t;
    std::vector<int32_t> order = std::move(candidates);
    auto by_logit = [&](int32_t x, int32_t y) {
      const float lx = work[static_cast<size_t>(x)], ly = work[static_cast<size_t>(y)];
      return lx > ly || (lx == ly && x < y);
    };
    size_t keep = order.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
      keep = static_cast<size_t>(params_.top_k);
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep),
                        order.end(), by_logit);
    } else {
      std::sort(order.begin(), order.end(), by_logit);
    }
    const double max_l = work[static_cast<size_t>(order[0])];
    std::vector<double> probs(keep);
    double sum = 0;
    for (size_t i = 0; i < keep; ++i) {
      probs[i] = std::exp(static_cast<double>(work[static_cast<size_t>(order[i])]) - max_l);
      sum += probs[i];
    }
    for (size_t i = 0; i < keep; ++i) probs[i] /= sum;
    if (params_.top_p < 1.0f) {
      double cum = 0;
      size_t cut = keep;
      for (size_t i = 0; i < keep; ++i) {
        cum += probs[i];
        if (cum >= static_cast<double>(params_.top_p)) {
          cut = i + 1;
          break;
        }
      }
      keep = cut;
    }
    if (params_.min_p > 0.0f) {
      const double threshold = static_cast<double>(params_.min_p) * probs[0];
      size_t cut = 1;
      while (cut < keep && probs[cut] >= threshold) ++cut;
      keep = cut;
    }
    double total = 0;
    for (size_t i = 0; i < keep; ++i) total += probs[i];
    if (kept != nullptr) {
      for (size_t i = 0; i < keep; ++i) kept->push_back({order[i], probs[i] / total});
    }
    std::uniform_real_distribution<double> uniform(0.0, total);
    const double u = uniform(rng_);
    double cum = 0;
    for (size_t i = 0; i < keep; ++i) {
      cum += probs[i];
      if (u < cum) return order[i];
    }
    return order[keep - 1];
  }

 private:
  shard::SamplingParams params_;
  std::vector<shard::TokenRange> allowed_;
  std::mt19937_64 rng_;
};

}  // namespace tpserve::reference

#endif  // TPSERVE_TESTS_REFERENCE_SAMPLING_REFERENCE_H_
