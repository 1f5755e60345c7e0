#include "shard/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace tpserve::shard {

absl::Status SamplingParams::Validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) {
    return absl::InvalidArgumentError(
        absl::StrCat("temperature must be a finite number >= 0, got ", temperature));
  }
  if (top_k < 0) {
    return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 0 (0 = off), got ", top_k));
  }
  if (!(top_p > 0.0f && top_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p must be in (0, 1], got ", top_p));
  }
  if (!(min_p >= 0.0f && min_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("min_p must be in [0, 1], got ", min_p));
  }
  if (!(repetition_penalty > 0.0f) || !std::isfinite(repetition_penalty)) {
    return absl::InvalidArgumentError(
        absl::StrCat("repetition_penalty must be > 0, got ", repetition_penalty));
  }
  return absl::OkStatus();
}

Sampler::Sampler(const SamplingParams& params)
    : params_(params), rng_(params.seed.has_value() ? *params.seed : std::random_device{}()) {}

int32_t Sampler::Sample(absl::Span<const float> logits, absl::Span<const int32_t> history,
                        int64_t valid_vocab) {
  const int64_t vocab =
      valid_vocab > 0 ? std::min<int64_t>(valid_vocab, static_cast<int64_t>(logits.size()))
                      : static_cast<int64_t>(logits.size());
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
    int32_t best = 0;
    for (int64_t i = 1; i < vocab; ++i) {
      if (work_[static_cast<size_t>(i)] > work_[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
    }
    return best;
  }
  const float inv_t = 1.0f / params_.temperature;
  for (float& l : work_) l *= inv_t;

  // Candidates sorted by logit, descending (ties by id for determinism).
  order_.resize(static_cast<size_t>(vocab));
  std::iota(order_.begin(), order_.end(), 0);
  auto by_logit = [&](int32_t x, int32_t y) {
    const float lx = work_[static_cast<size_t>(x)], ly = work_[static_cast<size_t>(y)];
    return lx > ly || (lx == ly && x < y);
  };
  size_t keep = order_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::partial_sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(keep), order_.end(), by_logit);
  } else {
    std::sort(order_.begin(), order_.end(), by_logit);
  }
  // Softmax over the kept candidates (in double for a stable cumulative sum).
  const double max_l = work_[static_cast<size_t>(order_[0])];
  std::vector<double> probs(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp(static_cast<double>(work_[static_cast<size_t>(order_[i])]) - max_l);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;
  if (params_.top_p < 1.0f) {
    // Smallest prefix whose mass reaches top_p (at least one token).
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
  std::uniform_real_distribution<double> uniform(0.0, total);
  const double u = uniform(rng_);
  double cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += probs[i];
    if (u < cum) return order_[i];
  }
  return order_[keep - 1];
}

}  // namespace tpserve::shard
