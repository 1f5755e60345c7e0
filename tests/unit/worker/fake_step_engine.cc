#include "tests/unit/worker/fake_step_engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tpserve::worker::testing {

int32_t FakeNextToken(const std::vector<int32_t>& history, int64_t vocab) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : history) h = (h ^ static_cast<uint64_t>(t)) * 1099511628211ull;
  return static_cast<int32_t>((h >> 17) % static_cast<uint64_t>(vocab));
}

std::vector<int32_t> FakeGenerate(std::vector<int32_t> prompt, int32_t max_tokens, int64_t vocab,
                                  const std::vector<int32_t>& stop_ids) {
  std::vector<int32_t> out;
  while (static_cast<int32_t>(out.size()) < max_tokens) {
    const int32_t t = FakeNextToken(prompt, vocab);
    out.push_back(t);
    prompt.push_back(t);
    if (std::find(stop_ids.begin(), stop_ids.end(), t) != stop_ids.end()) break;
  }
  return out;
}

FakeStepEngine::FakeStepEngine(const EngineLimits& limits)
    : limits_(limits),
      slots_(static_cast<size_t>(limits.max_slots)),
      logits_(static_cast<size_t>(limits.max_logit_rows * limits.vocab_size)) {}

absl::StatusOr<std::vector<absl::Span<const float>>> FakeStepEngine::Run(
    const shard::StepPlan& plan) {
  if (delay_ > absl::ZeroDuration()) absl::SleepFor(delay_);
  absl::MutexLock lock(&mu_);
  const int64_t step = static_cast<int64_t>(plans_.size());
  plans_.push_back(plan);
  auto released = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !held_; };
  mu_.Await(absl::Condition(&released));
  if (fail_at_.has_value() && step >= *fail_at_) {
    return absl::UnavailableError(absl::StrCat("fake rank 1 died at step ", step));
  }
  for (int32_t slot : plan.release_slots) {
    if (slot < 0 || slot >= limits_.max_slots || !slots_[static_cast<size_t>(slot)].in_use) {
      return absl::InvalidArgumentError(
          absl::StrCat("release of slot ", slot, " that is not in use"));
    }
    slots_[static_cast<size_t>(slot)] = Slot();
  }
  if (plan.num_tokens() > limits_.max_tokens_per_step) {
    return absl::InvalidArgumentError(absl::StrCat("step of ", plan.num_tokens(), " tokens"));
  }
  std::vector<absl::Span<const float>> rows(plan.sequences.size());
  int64_t row = 0;
  std::vector<bool> seen(static_cast<size_t>(limits_.max_slots), false);
  for (size_t i = 0; i < plan.sequences.size(); ++i) {
    const shard::SequenceStep& s = plan.sequences[i];
    if (s.slot < 0 || s.slot >= limits_.max_slots || seen[static_cast<size_t>(s.slot)]) {
      return absl::InvalidArgumentError(absl::StrCat("bad or repeated slot ", s.slot));
    }
    seen[static_cast<size_t>(s.slot)] = true;
    Slot& slot = slots_[static_cast<size_t>(s.slot)];
    if (s.new_sequence) {
      if (slot.in_use)
        return absl::InvalidArgumentError(absl::StrCat("slot ", s.slot, " acquired twice"));
      slot.in_use = true;
    }
    if (!slot.in_use)
      return absl::InvalidArgumentError(absl::StrCat("slot ", s.slot, " not acquired"));
    if (s.start_index != static_cast<int32_t>(slot.fed.size()) || s.token_ids.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "slot ", s.slot, ": start_index ", s.start_index, " but it holds ", slot.fed.size()));
    }
    slot.fed.insert(slot.fed.end(), s.token_ids.begin(), s.token_ids.end());
    if (static_cast<int32_t>(slot.fed.size()) > limits_.max_context) {
      return absl::InvalidArgumentError("past the context");
    }
    if (s.logits == shard::LogitsMode::kNone) continue;
    if (row >= limits_.max_logit_rows) return absl::InvalidArgumentError("too many logits rows");
    float* r = logits_.data() + row * limits_.vocab_size;
    std::fill(r, r + limits_.vocab_size, 0.0f);
    r[FakeNextToken(slot.fed, limits_.vocab_size)] = 1.0f;
    rows[i] = absl::MakeConstSpan(r, static_cast<size_t>(limits_.vocab_size));
    ++row;
  }
  return rows;
}

void FakeStepEngine::Hold(bool hold) {
  absl::MutexLock lock(&mu_);
  held_ = hold;
}

MemoryUsage FakeStepEngine::memory_usage() const {
  absl::MutexLock lock(&mu_);
  MemoryUsage u;
  for (const Slot& s : slots_) {
    if (!s.in_use) continue;
    ++u.slots_in_use;
    u.blocks_in_use += limits_.BlocksFor(static_cast<int64_t>(s.fed.size()));
  }
  return u;
}

std::vector<shard::StepPlan> FakeStepEngine::plans() const {
  absl::MutexLock lock(&mu_);
  return plans_;
}

int64_t FakeStepEngine::steps() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(plans_.size());
}

void RecordingSink::OnUpdate(const SequenceUpdate& update) {
  absl::MutexLock lock(&mu_);
  updates_.push_back(update);
  tokens_.insert(tokens_.end(), update.tokens.begin(), update.tokens.end());
  if (update.finish.has_value()) {
    finish_ = update.finish;
    ++terminal_;
  }
}

void RecordingSink::OnError(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  error_ = status;
  ++terminal_;
}

bool RecordingSink::AwaitDone(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return terminal_ > 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

bool RecordingSink::AwaitTokens(size_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return tokens_.size() >= n || terminal_ > 0;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout) && tokens_.size() >= n;
}

std::vector<int32_t> RecordingSink::tokens() const {
  absl::MutexLock lock(&mu_);
  return tokens_;
}

std::vector<SequenceUpdate> RecordingSink::updates() const {
  absl::MutexLock lock(&mu_);
  return updates_;
}

std::optional<FinishReason> RecordingSink::finish() const {
  absl::MutexLock lock(&mu_);
  return finish_;
}

absl::Status RecordingSink::error() const {
  absl::MutexLock lock(&mu_);
  return error_;
}

int RecordingSink::terminal_calls() const {
  absl::MutexLock lock(&mu_);
  return terminal_;
}

}  // namespace tpserve::worker::testing
