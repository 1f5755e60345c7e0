#include "shard/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "ops/base/sampling_bounds.h"
#include "shard/internal/sampling_kernels.h"

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

// How Sample stays linear in the vocabulary (issue 11: sorting 248k logits for every token cost
// ~50 ms; a decode step of the 0.8B model is ~50-150 ms).
//
// The view is the candidate list: the allowed ranges, each a run of contiguous logits, or after a
// large top-k the list of the k best. Every pass over it is a kernel of
// internal/sampling_kernels.h. With s = logit / temperature, m = max s and the order "larger s
// first, lower id on ties":
//  - top_k <= kSmallTopK: one scan keeps the candidates above the running k-th best (strictly:
//    a later id loses a tie), nth_element trims them, the k survivors are sorted, and the
//    sort-based algorithm runs on them unchanged, so these draws are the ones it made.
//  - larger top_k: every candidate gets a bucket of m - s (4096 buckets over the row's range);
//    bucket counts locate the k-th best, nth_element finds it inside its bucket.
//  - then e = exp(s - m) in double for every candidate in one pass, and
//    temperature only: the draw walks per-block sums of e, then the block;
//    min_p: keeps e >= min_p, which needs no sum;
//    top_p: the crossing (the first token in order at which the cumulated e reaches
//    top_p · total) is searched among the tokens within kFastRange of m when they hold that
//    much (peaked rows), else inside the one bucket of a mass histogram where the cumulated
//    bucket masses reach it. FindCrossing halves a range with nth_element until a sort is cheap.
// Kept sets and probabilities are the sort-based algorithm's up to the rounding of sums taken in
// another order (tests/shard/sampling_reference_test.cc checks both). Outside the small top-k
// path the draw walks the kept tokens in another order (by id, or by bucket then id), so a seed
// picks other tokens than before, from the same distribution.
namespace {

using internal::SamplingKernels;
using Item = internal::SamplerItem;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kSmallTopK = 1024;
// FindCrossing sorts ranges of at most this many items.
constexpr size_t kSortLimit = 2048;
// Positions per block of the temperature-only draw.
constexpr int64_t kBlock = 1024;
// Candidates per kernel call when compacting (the size of positions_).
constexpr int64_t kScanBlock = 8192;
// top_p first looks at the tokens with s >= m - kFastRange (e >= 1.1e-7), if at most kFastCap.
constexpr float kFastRange = 16.0f;
constexpr int64_t kFastCap = 4096;
constexpr int kNumBuckets = internal::kMaxBucketKey + 1;

bool Better(const Item& a, const Item& b) { return a.s > b.s || (a.s == b.s && a.id < b.id); }

// Buckets per unit of m - s: fine enough that a crossing bucket holds few tokens, coarse enough
// that the row's whole range fits below the last bucket (which keeps -inf and NaN).
float BucketScale(float max, float min_finite) {
  const double range = static_cast<double>(max) - static_cast<double>(min_finite);
  if (!(range > 0)) return 64.0f;
  return static_cast<float>(std::min(64.0, (internal::kMaxBucketKey - 1) / range));
}

}  // namespace

Sampler::Sampler(const SamplingParams& params)
    : Sampler(params, internal::ActiveSamplingKernels()) {}

Sampler::Sampler(const SamplingParams& params, const SamplingKernels& kernels)
    : params_(params),
      allowed_(NormalizeTokenRanges(params.allowed_tokens)),
      kernels_(&kernels),
      rng_(params.seed.has_value() ? *params.seed : std::random_device{}()) {}

int32_t Sampler::Sample(absl::Span<const float> logits, absl::Span<const int32_t> history,
                        int64_t valid_vocab) {
  distribution_ = nullptr;
  return SampleImpl(logits, history, valid_vocab);
}

int32_t Sampler::SampleWithDistribution(absl::Span<const float> logits,
                                        absl::Span<const int32_t> history, int64_t valid_vocab,
                                        std::vector<TokenProbability>* kept) {
  kept->clear();
  distribution_ = kept;
  const int32_t token = SampleImpl(logits, history, valid_vocab);
  distribution_ = nullptr;
  return token;
}

void Sampler::Record(int32_t id, double probability) {
  if (distribution_ != nullptr) distribution_->push_back({id, probability});
}

double Sampler::Uniform(double total) {
  std::uniform_real_distribution<double> uniform(0.0, total);
  return uniform(rng_);
}

void Sampler::BuildView(int64_t vocab) {
  chunks_.clear();
  n_ = 0;
  auto add = [&](int64_t begin, int64_t end) {
    if (end <= begin) return;
    chunks_.push_back({.first_id = static_cast<int32_t>(begin), .count = end - begin, .pos = n_});
    n_ += end - begin;
  };
  if (allowed_.empty()) {
    add(0, vocab);
  } else {
    for (const TokenRange& r : allowed_) add(r.begin, std::min<int64_t>(r.end, vocab));
  }
}

const float* Sampler::Penalize(const float* logits, int64_t vocab,
                               absl::Span<const int32_t> history) {
  work_.resize(static_cast<size_t>(vocab));
  for (const Chunk& c : chunks_) {
    std::copy(logits + c.first_id, logits + c.first_id + c.count, work_.begin() + c.first_id);
  }
  if (seen_.size() < static_cast<size_t>(vocab)) seen_.resize(static_cast<size_t>(vocab), 0);
  const float p = params_.repetition_penalty;
  for (int32_t id : history) {  // once per distinct token
    if (id < 0 || id >= vocab || seen_[static_cast<size_t>(id)] != 0) continue;
    seen_[static_cast<size_t>(id)] = 1;
    float& l = work_[static_cast<size_t>(id)];
    l = l > 0.0f ? l / p : l * p;
  }
  for (int32_t id : history) {
    if (id >= 0 && id < vocab) seen_[static_cast<size_t>(id)] = 0;
  }
  return work_.data();
}

void Sampler::ViewMinMax(float* min_finite, float* max) const {
  float lo = kInf, hi = -kInf;
  for (const Chunk& c : chunks_) {
    float clo, chi;
    kernels_->min_max(c.x, c.count, &clo, &chi);
    lo = std::min(lo, clo);
    hi = std::max(hi, chi);
  }
  *min_finite = lo;
  *max = hi;
}

int32_t Sampler::FirstWithValue(float value) {
  // Nothing scales above the maximum, so ">= value" finds the ties of value (for -inf, the
  // first non-NaN candidate, which is -inf too).
  positions_.resize(static_cast<size_t>(kScanBlock));
  for (const Chunk& c : chunks_) {
    for (int64_t j = 0; j < c.count; j += kScanBlock) {
      const int64_t len = std::min(kScanBlock, c.count - j);
      if (kernels_->collect_above(c.x + j, len, view_scale_, value, true, static_cast<int32_t>(j),
                                  positions_.data()) > 0) {
        return MakeItem(c, positions_[0]).id;
      }
    }
  }
  return MakeItem(chunks_.front(), 0).id;
}

Sampler::Item Sampler::MakeItem(const Chunk& c, int64_t j) const {
  const float s = c.x[j] * view_scale_;
  return {.s = std::isnan(s) ? -kInf : s,
          .id = c.ids != nullptr ? c.ids[j] : c.first_id + static_cast<int32_t>(j),
          .pos = static_cast<int32_t>(c.pos + j)};
}

int32_t Sampler::IdAt(int64_t pos) const {
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), pos,
                             [](int64_t p, const Chunk& c) { return p < c.pos; });
  const Chunk& c = *(it - 1);
  return MakeItem(c, pos - c.pos).id;
}

int32_t Sampler::SampleImpl(absl::Span<const float> logits, absl::Span<const int32_t> history,
                            int64_t valid_vocab) {
  const int64_t vocab = valid_vocab > 0
                            ? std::min<int64_t>(valid_vocab, static_cast<int64_t>(logits.size()))
                            : static_cast<int64_t>(logits.size());
  BuildView(vocab);
  if (n_ == 0) {
    const int32_t id = allowed_.empty() ? 0 : allowed_.front().begin;
    Record(id, 1.0);
    return id;
  }
  const float* src = logits.data();
  if (params_.repetition_penalty != 1.0f) src = Penalize(src, vocab, history);
  for (Chunk& c : chunks_) c.x = src + c.first_id;
  float lo, hi;
  if (params_.greedy()) {
    view_scale_ = 1.0f;
    ViewMinMax(&lo, &hi);
    const int32_t id = FirstWithValue(hi);  // the lowest id among ties
    Record(id, 1.0);
    return id;
  }
  view_scale_ = 1.0f / params_.temperature;
  const int64_t k = params_.top_k;
  const bool top_k = k > 0 && k < n_;
  if (top_k && k <= kSmallTopK) {
    if (std::optional<int32_t> id = SampleSmallTopK(k)) return *id;
  }
  ViewMinMax(&lo, &hi);
  // Rounding is monotonic, so the largest scaled value is the scaled largest value.
  const float m = hi * view_scale_;
  if (!std::isfinite(m)) {
    // Every candidate is -inf (or NaN), or some are +inf: no softmax; take the best, lowest id.
    const int32_t id = FirstWithValue(m);
    Record(id, 1.0);
    return id;
  }
  const float min_s = lo * view_scale_;
  if (top_k) SelectTopK(k, m, min_s);
  return SampleView(m, min_s);
}

std::optional<int32_t> Sampler::SampleSmallTopK(int64_t k) {
  const size_t kk = static_cast<size_t>(k);
  items_.clear();
  // The first k candidates, then only those above the k-th best so far.
  size_t ci = 0;
  int64_t j = 0;
  while (ci < chunks_.size() && items_.size() < kk) {
    items_.push_back(MakeItem(chunks_[ci], j));
    if (++j == chunks_[ci].count) {
      ++ci;
      j = 0;
    }
  }
  float threshold = kInf;
  for (const Item& it : items_) threshold = std::min(threshold, it.s);
  // Random rows keep about k ln(n / k) candidates; an ascending row would keep them all.
  const int64_t budget = 16 * k + 65536;
  int64_t kept = 0;
  positions_.resize(static_cast<size_t>(kScanBlock));
  for (; ci < chunks_.size(); ++ci, j = 0) {
    const Chunk& c = chunks_[ci];
    for (; j < c.count; j += kScanBlock) {
      const int64_t len = std::min(kScanBlock, c.count - j);
      const int64_t found = kernels_->collect_above(c.x + j, len, view_scale_, threshold, false,
                                                    static_cast<int32_t>(j), positions_.data());
      for (int64_t i = 0; i < found; ++i) items_.push_back(MakeItem(c, positions_[i]));
      kept += found;
      if (kept > budget) return std::nullopt;
      if (items_.size() >= 2 * kk) {
        std::nth_element(items_.begin(), items_.begin() + (k - 1), items_.end(), Better);
        items_.resize(kk);
        threshold = items_.back().s;
      }
    }
  }
  if (items_.size() > kk) {
    std::nth_element(items_.begin(), items_.begin() + (k - 1), items_.end(), Better);
    items_.resize(kk);
  }
  std::sort(items_.begin(), items_.end(), Better);
  if (!std::isfinite(items_[0].s)) {  // the row's maximum: see SampleImpl
    const int32_t id = FirstWithValue(items_[0].s);
    Record(id, 1.0);
    return id;
  }

  // The sort-based algorithm on the k best.
  const double max_l = items_[0].s;
  probs_.resize(kk);
  double sum = 0;
  for (size_t i = 0; i < kk; ++i) {
    probs_[i] = std::exp(static_cast<double>(items_[i].s) - max_l);
    sum += probs_[i];
  }
  for (size_t i = 0; i < kk; ++i) probs_[i] /= sum;
  size_t keep = kk;
  if (params_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < keep; ++i) {
      cum += probs_[i];
      if (cum >= static_cast<double>(params_.top_p)) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double threshold_p = static_cast<double>(params_.min_p) * probs_[0];
    size_t cut = 1;
    while (cut < keep && probs_[cut] >= threshold_p) ++cut;
    keep = cut;
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs_[i];
  if (distribution_ != nullptr) {
    for (size_t i = 0; i < keep; ++i) Record(items_[i].id, probs_[i] / total);
  }
  const double u = Uniform(total);
  double cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += probs_[i];
    if (u < cum) return items_[i].id;
  }
  return items_[keep - 1].id;
}

void Sampler::ComputeKeys(float max, float inv_width) {
  keys_.resize(static_cast<size_t>(n_));
  for (const Chunk& c : chunks_) {
    kernels_->bucket_keys(c.x, c.count, view_scale_, max, inv_width, keys_.data() + c.pos);
  }
}

void Sampler::CollectBuckets(uint16_t lo, uint16_t hi, std::vector<Item>* out) {
  out->clear();
  positions_.resize(static_cast<size_t>(kScanBlock));
  for (const Chunk& c : chunks_) {
    for (int64_t j = 0; j < c.count; j += kScanBlock) {
      const int64_t len = std::min(kScanBlock, c.count - j);
      const int64_t found = kernels_->collect_keys(keys_.data() + c.pos + j, len, lo, hi,
                                                   static_cast<int32_t>(j), positions_.data());
      for (int64_t i = 0; i < found; ++i) out->push_back(MakeItem(c, positions_[i]));
    }
  }
}

bool Sampler::CollectAtLeast(float threshold, int64_t cap) {
  items_.clear();
  positions_.resize(static_cast<size_t>(kScanBlock));
  for (const Chunk& c : chunks_) {
    for (int64_t j = 0; j < c.count; j += kScanBlock) {
      const int64_t len = std::min(kScanBlock, c.count - j);
      const int64_t found = kernels_->collect_above(c.x + j, len, view_scale_, threshold, true,
                                                    static_cast<int32_t>(j), positions_.data());
      for (int64_t i = 0; i < found; ++i) items_.push_back(MakeItem(c, positions_[i]));
      if (cap >= 0 && static_cast<int64_t>(items_.size()) > cap) return false;
    }
  }
  return true;
}

void Sampler::SelectTopK(int64_t k, float max, float min_finite) {
  ComputeKeys(max, BucketScale(max, min_finite));
  bucket_count_.assign(kNumBuckets, 0);
  for (uint16_t key : keys_) ++bucket_count_[key];
  int64_t before = 0;
  uint16_t b = 0;
  while (b < internal::kMaxBucketKey && before + bucket_count_[b] < k) before += bucket_count_[b++];
  CollectBuckets(b, b, &items_);
  const int64_t need = k - before;  // 1 <= need <= the bucket's count
  std::nth_element(items_.begin(), items_.begin() + (need - 1), items_.end(), Better);
  const Item last = items_[static_cast<size_t>(need - 1)];
  // The k best, in id order: buckets below b, and b's candidates up to `last`.
  CollectBuckets(0, b, &draw_items_);
  list_values_.clear();
  list_ids_.clear();
  for (const Item& it : draw_items_) {
    if (keys_[static_cast<size_t>(it.pos)] == b && Better(last, it)) continue;
    list_values_.push_back(it.s);
    list_ids_.push_back(it.id);
  }
  chunks_.assign(1, {.x = list_values_.data(),
                     .ids = list_ids_.data(),
                     .count = static_cast<int64_t>(list_values_.size()),
                     .pos = 0});
  n_ = chunks_[0].count;
  view_scale_ = 1.0f;  // list values are scaled already
}

double Sampler::ExpPass(float max) {
  e_.resize(static_cast<size_t>(n_));
  block_mass_.assign(static_cast<size_t>((n_ + kBlock - 1) / kBlock), 0.0);
  for (const Chunk& c : chunks_) {
    for (int64_t j = 0; j < c.count;) {
      const int64_t p = c.pos + j, b = p / kBlock;
      const int64_t end = std::min(c.count, j + (b + 1) * kBlock - p);
      block_mass_[static_cast<size_t>(b)] +=
          kernels_->exp_sum(c.x + j, end - j, view_scale_, static_cast<double>(max), e_.data() + p);
      j = end;
    }
  }
  double total = 0;
  for (double mass : block_mass_) total += mass;
  return total;
}

size_t Sampler::FindCrossing(double cum, double target, double* kept_mass) {
  size_t lo = 0, hi = items_.size();  // the crossing is in [lo, hi); items_[0, lo) are kept
  // Items come in id order, so a run of one value (a flat row's bucket) is in order already.
  const bool one_value = std::all_of(items_.begin(), items_.end(),
                                     [&](const Item& it) { return it.s == items_[0].s; });
  while (!one_value && hi - lo > kSortLimit) {
    const size_t mid = lo + (hi - lo) / 2;
    std::nth_element(items_.begin() + static_cast<std::ptrdiff_t>(lo),
                     items_.begin() + static_cast<std::ptrdiff_t>(mid),
                     items_.begin() + static_cast<std::ptrdiff_t>(hi), Better);
    double upper = 0;
    for (size_t i = lo; i < mid; ++i) upper += e_[static_cast<size_t>(items_[i].pos)];
    if (cum + upper >= target) {
      hi = mid;
    } else {
      cum += upper;
      lo = mid;
    }
  }
  if (!one_value) {
    std::sort(items_.begin() + static_cast<std::ptrdiff_t>(lo),
              items_.begin() + static_cast<std::ptrdiff_t>(hi), Better);
  }
  for (size_t i = lo; i < hi; ++i) {
    cum += e_[static_cast<size_t>(items_[i].pos)];
    if (cum >= target) {
      *kept_mass = cum;
      return i;
    }
  }
  *kept_mass = cum;  // rounding: the whole range is kept
  return hi - 1;
}

int32_t Sampler::SampleView(float max, float min_finite) {
  const bool top_p = params_.top_p < 1.0f;
  const bool min_p = params_.min_p > 0.0f;
  // min_p keeps e >= min_p, i.e. s >= m + ln(min_p); the scan threshold sits a little below
  // that (rounded down to a float), and e decides.
  auto min_p_threshold = [&] {
    const double t = static_cast<double>(max) + std::log(static_cast<double>(params_.min_p)) -
                     1e-6 * (1.0 + std::fabs(static_cast<double>(max)));
    float f = static_cast<float>(t);
    if (static_cast<double>(f) > t) f = std::nextafter(f, -kInf);
    return f;
  };
  auto keep_min_p = [&]() {
    double mass = 0;
    size_t kept = 0;
    for (const Item& it : items_) {
      const double e = e_[static_cast<size_t>(it.pos)];
      if (e >= static_cast<double>(params_.min_p)) {
        items_[kept++] = it;
        mass += e;
      }
    }
    items_.resize(kept);
    return mass;
  };
  if (min_p && !top_p) {
    // No normalizer needed: exps of the collected tokens only.
    CollectAtLeast(min_p_threshold(), -1);
    gather_values_.resize(items_.size());
    gather_e_.resize(items_.size());
    for (size_t i = 0; i < items_.size(); ++i) gather_values_[i] = items_[i].s;
    kernels_->exp_sum(gather_values_.data(), static_cast<int64_t>(items_.size()), 1.0f,
                      static_cast<double>(max), gather_e_.data());
    e_.resize(static_cast<size_t>(n_));
    for (size_t i = 0; i < items_.size(); ++i) {
      e_[static_cast<size_t>(items_[i].pos)] = gather_e_[i];
    }
    const double mass = keep_min_p();
    return DrawItems(items_.size(), mass);
  }
  const double total = ExpPass(max);
  if (!top_p && !min_p) return DrawAll(total);
  const double target = static_cast<double>(params_.top_p) * total;
  double kept_mass = 0;
  if (min_p) {
    // Both are prefixes of the order, so the shorter one is kept.
    CollectAtLeast(min_p_threshold(), -1);
    const double mass = keep_min_p();
    if (mass < target) return DrawItems(items_.size(), mass);
    const size_t c = FindCrossing(0.0, target, &kept_mass);
    return DrawItems(c + 1, kept_mass);
  }
  if (CollectAtLeast(max - kFastRange, kFastCap)) {
    double mass = 0;
    for (const Item& it : items_) mass += e_[static_cast<size_t>(it.pos)];
    if (mass >= target) {
      const size_t c = FindCrossing(0.0, target, &kept_mass);
      return DrawItems(c + 1, kept_mass);
    }
  }
  return SampleTopPHistogram(max, min_finite, target);
}

int32_t Sampler::SampleTopPHistogram(float max, float min_finite, double target) {
  ComputeKeys(max, BucketScale(max, min_finite));
  bucket_mass_.assign(kNumBuckets, 0.0);
  for (int64_t p = 0; p < n_; ++p) {
    bucket_mass_[keys_[static_cast<size_t>(p)]] += e_[static_cast<size_t>(p)];
  }
  double before = 0;
  uint16_t b = 0;
  while (b < internal::kMaxBucketKey && before + bucket_mass_[b] < target) {
    before += bucket_mass_[b++];
  }
  CollectBuckets(b, b, &items_);
  double kept_mass = 0;
  const size_t c = FindCrossing(before, target, &kept_mass);
  if (distribution_ != nullptr) {
    if (b > 0) {
      CollectBuckets(0, static_cast<uint16_t>(b - 1), &draw_items_);
    } else {
      draw_items_.clear();
    }
    for (const Item& it : draw_items_) {
      Record(it.id, e_[static_cast<size_t>(it.pos)] / kept_mass);
    }
    for (size_t i = 0; i <= c; ++i) {
      Record(items_[i].id, e_[static_cast<size_t>(items_[i].pos)] / kept_mass);
    }
  }
  // Kept: every bucket below b, then items_[0, c]; walked in that order.
  const double u = Uniform(kept_mass);
  double acc = 0;
  if (u < before) {
    for (uint16_t bb = 0; bb < b; ++bb) {
      if (u < acc + bucket_mass_[bb]) {
        CollectBuckets(bb, bb, &draw_items_);
        const Item* last = nullptr;
        for (const Item& it : draw_items_) {
          const double e = e_[static_cast<size_t>(it.pos)];
          if (e > 0) last = &it;
          acc += e;
          if (u < acc) return it.id;
        }
        if (last != nullptr) return last->id;  // rounding at the bucket's end
      }
      acc += bucket_mass_[bb];
    }
  }
  acc = before;
  for (size_t i = 0; i <= c; ++i) {
    acc += e_[static_cast<size_t>(items_[i].pos)];
    if (u < acc) return items_[i].id;
  }
  return items_[c].id;
}

int32_t Sampler::DrawAll(double total) {
  if (distribution_ != nullptr) {
    for (int64_t p = 0; p < n_; ++p) Record(IdAt(p), e_[static_cast<size_t>(p)] / total);
  }
  const double u = Uniform(total);
  double acc = 0;
  for (size_t b = 0; b < block_mass_.size(); ++b) {
    if (u < acc + block_mass_[b]) {
      const int64_t begin = static_cast<int64_t>(b) * kBlock;
      const int64_t end = std::min(n_, begin + kBlock);
      int64_t last = -1;
      for (int64_t p = begin; p < end; ++p) {
        const double e = e_[static_cast<size_t>(p)];
        if (e > 0) last = p;
        acc += e;
        if (u < acc) return IdAt(p);
      }
      if (last >= 0) return IdAt(last);  // rounding at the block's end
    }
    acc += block_mass_[b];
  }
  for (int64_t p = n_ - 1; p > 0; --p) {
    if (e_[static_cast<size_t>(p)] > 0) return IdAt(p);
  }
  return IdAt(0);
}

int32_t Sampler::DrawItems(size_t count, double mass) {
  if (distribution_ != nullptr) {
    for (size_t i = 0; i < count; ++i) {
      Record(items_[i].id, e_[static_cast<size_t>(items_[i].pos)] / mass);
    }
  }
  const double u = Uniform(mass);
  double acc = 0;
  size_t last = 0;
  for (size_t i = 0; i < count; ++i) {
    const double e = e_[static_cast<size_t>(items_[i].pos)];
    if (e > 0) last = i;
    acc += e;
    if (u < acc) return items_[i].id;
  }
  return items_[last].id;
}

}  // namespace tpserve::shard
