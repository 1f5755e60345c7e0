// Test doubles for the leader's scheduler: a StepEngine whose "model" has closed-form logits and
// which checks every plan the way Qwen35Model does (slots acquired once, start_index equal to
// what the slot holds, budgets), and a SequenceSink that records what it gets.
#ifndef TPSERVE_TESTS_UNIT_WORKER_FAKE_STEP_ENGINE_H_
#define TPSERVE_TESTS_UNIT_WORKER_FAKE_STEP_ENGINE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "worker/scheduler/sequence.h"
#include "worker/scheduler/step_engine.h"

namespace tpserve::worker::testing {

// The fake model's next token after `history`: a function of the whole history, so a sequence
// fed the wrong tokens, positions or chunks gets different output.
int32_t FakeNextToken(const std::vector<int32_t>& history, int64_t vocab);
// What a sequence generates alone: greedy over FakeNextToken (one-hot logits).
std::vector<int32_t> FakeGenerate(std::vector<int32_t> prompt, int32_t max_tokens, int64_t vocab,
                                  const std::vector<int32_t>& stop_ids = {});

class FakeStepEngine final : public StepEngine {
 public:
  explicit FakeStepEngine(const EngineLimits& limits);

  const EngineLimits& limits() const override { return limits_; }
  absl::StatusOr<std::vector<absl::Span<const float>>> Run(const shard::StepPlan& plan) override;
  MemoryUsage memory_usage() const override;

  // The step (counting from 0) at which Run fails with Unavailable; none by default.
  void FailAtStep(int64_t step) { fail_at_ = step; }
  // Every plan run so far (thread-safe copy).
  std::vector<shard::StepPlan> plans() const;
  int64_t steps() const;
  // Slows every step down (to let tests act mid-generation).
  void set_step_delay(absl::Duration d) { delay_ = d; }
  // While held, Run blocks (so submissions pile up deterministically).
  void Hold(bool hold);

 private:
  struct Slot {
    bool in_use = false;
    std::vector<int32_t> fed;  // every token fed to the slot, in order
  };
  EngineLimits limits_;
  mutable absl::Mutex mu_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<shard::StepPlan> plans_ ABSL_GUARDED_BY(mu_);
  std::vector<float> logits_;  // [max_logit_rows, vocab]
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int64_t> fail_at_;
  absl::Duration delay_ = absl::ZeroDuration();
};

class RecordingSink final : public SequenceSink {
 public:
  void OnUpdate(const SequenceUpdate& update) override;
  void OnError(const absl::Status& status) override;

  // Waits until a terminal call (true) or `timeout` (false).
  bool AwaitDone(absl::Duration timeout) const;
  bool AwaitTokens(size_t n, absl::Duration timeout) const;
  std::vector<int32_t> tokens() const;
  std::vector<SequenceUpdate> updates() const;
  std::optional<FinishReason> finish() const;
  absl::Status error() const;
  int terminal_calls() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<SequenceUpdate> updates_ ABSL_GUARDED_BY(mu_);
  std::vector<int32_t> tokens_ ABSL_GUARDED_BY(mu_);
  std::optional<FinishReason> finish_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int terminal_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tpserve::worker::testing

#endif  // TPSERVE_TESTS_UNIT_WORKER_FAKE_STEP_ENGINE_H_
