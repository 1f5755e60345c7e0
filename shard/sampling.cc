#include "shard/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "ops/base/sampling_bounds.h"

namespace tpserve::shard {

absl::Status SamplingParams::Validate() const {
  // The bounds are the cluster's one definition (ops/base/sampling_bounds.h); the coordinator
  // checked a served request against the same function already.
  if (absl::Status s = ValidateSamplingFields({.temperature = temperature,
                                               .top_k = top_k,
                                               .top_p = top_p,
                                               .min_p = min_p,
                                               .repetition_penalty = repetition_penalty},
                                              "");
      !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < allowed_tokens.size(); ++i) {
    const TokenRange& r = allowed_tokens[i];
    if (r.begin < 0 || r.end <= r.begin) {
      return absl::InvalidArgumentError(absl::StrCat(
          "allowed_tokens[", i, "] must be a range [begin, end) with 0 <= begin < end, got [",
          r.begin, ", ", r.end, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status SamplingParams::ValidateForVocab(int64_t vocab) const {
  if (absl::Status s = Validate(); !s.ok()) return s;
  if (allowed_tokens.empty()) return absl::OkStatus();
  for (const TokenRange& r : allowed_tokens) {
    if (r.begin < vocab) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("allowed_tokens: no range contains an id below the vocabulary size ", vocab));
}

std::vector<TokenRange> NormalizeTokenRanges(absl::Span<const TokenRange> ranges) {
  std::vector<TokenRange> sorted;
  for (const TokenRange& r : ranges) {
    if (r.end > r.begin) sorted.push_back({std::max(r.begin, 0), r.end});
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const TokenRange& a, const TokenRange& b) { return a.begin < b.begin; });
  std::vector<TokenRange> merged;
  for (const TokenRange& r : sorted) {
    if (r.end <= r.begin) continue;
    if (!merged.empty() && r.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

Sampler::Sampler(const SamplingParams& params)
    : params_(params),
      allowed_(NormalizeTokenRanges(params.allowed_tokens)),
      rng_(params.seed.has_value() ? *params.seed : std::random_device{}()) {}

void Sampler::CollectCandidates(int64_t vocab) {
  candidates_.clear();
  if (allowed_.empty()) {
    candidates_.resize(static_cast<size_t>(vocab));
    std::iota(candidates_.begin(), candidates_.end(), 0);
    return;
  }
  for (const TokenRange& r : allowed_) {
    const int64_t end = std::min<int64_t>(r.end, vocab);
    for (int64_t id = r.begin; id < end; ++id) candidates_.push_back(static_cast<int32_t>(id));
  }
}

int32_t Sampler::Sample(absl::Span<const float> logits, absl::Span<const int32_t> history,
                        int64_t valid_vocab) {
  const int64_t vocab = valid_vocab > 0
                            ? std::min<int64_t>(valid_vocab, static_cast<int64_t>(logits.size()))
                            : static_cast<int64_t>(logits.size());
  CollectCandidates(vocab);
  if (candidates_.empty()) return allowed_.empty() ? 0 : allowed_.front().begin;
  work_.assign(logits.begin(), logits.begin() + vocab);
  if (params_.repetition_penalty != 1.0f) {
    const float p = params_.repetition_penalty;
    penalized_.assign(static_cast<size_t>(vocab), false);
    for (int32_t id : history) {  // once per distinct token
      if (id < 0 || id >= vocab || penalized_[static_cast<size_t>(id)]) continue;
      penalized_[static_cast<size_t>(id)] = true;
      float& l = work_[static_cast<size_t>(id)];
      l = l > 0.0f ? l / p : l * p;
    }
  }
  if (params_.greedy()) {
    // Candidates are ascending, so a strict comparison keeps the lowest id among ties.
    int32_t best = candidates_[0];
    for (int32_t id : candidates_) {
      if (work_[static_cast<size_t>(id)] > work_[static_cast<size_t>(best)]) best = id;
    }
    return best;
  }
  const float inv_t = 1.0f / params_.temperature;
  for (int32_t id : candidates_) work_[static_cast<size_t>(id)] *= inv_t;

  // Candidates sorted by logit, descending (ties by id for determinism).
  order_.swap(candidates_);
  auto by_logit = [&](int32_t x, int32_t y) {
    const float lx = work_[static_cast<size_t>(x)], ly = work_[static_cast<size_t>(y)];
    return lx > ly || (lx == ly && x < y);
  };
  size_t keep = order_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::partial_sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(keep),
                      order_.end(), by_logit);
  } else {
    std::sort(order_.begin(), order_.end(), by_logit);
  }
  // Softmax over the kept candidates (in double for a stable cumulative sum).
  const double max_l = work_[static_cast<size_t>(order_[0])];
  probs_.resize(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs_[i] = std::exp(static_cast<double>(work_[static_cast<size_t>(order_[i])]) - max_l);
    sum += probs_[i];
  }
  for (size_t i = 0; i < keep; ++i) probs_[i] /= sum;
  if (params_.top_p < 1.0f) {
    // Smallest prefix whose mass reaches top_p (at least one token).
    double cum = 0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cum += probs_[i];
      if (cum >= static_cast<double>(params_.top_p)) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
  }
  if (params_.min_p > 0.0f) {
    const double threshold = static_cast<double>(params_.min_p) * probs_[0];
    size_t cut = 1;
    while (cut < keep && probs_[cut] >= threshold) ++cut;
    keep = cut;
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs_[i];
  std::uniform_real_distribution<double> uniform(0.0, total);
  const double u = uniform(rng_);
  double cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += probs_[i];
    if (u < cum) return order_[i];
  }
  return order_[keep - 1];
}

}  // namespace tpserve::shard
