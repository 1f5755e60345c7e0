// ApplyStepResult: after a step ran, advances every planned sequence — prompt chunks move its
// prefill position; a logits row is sampled (each sequence with its own Sampler, seed and allowed
// ranges; a spent thinking budget forces the end-of-thinking id instead) — streams the token to
// the sequence's sink with the step's timing, and retires sequences that emitted a stop id or
// reached max_tokens (their slots are released by the next plan).
#ifndef TPSERVE_WORKER_SCHEDULER_APPLY_STEP_RESULT_H_
#define TPSERVE_WORKER_SCHEDULER_APPLY_STEP_RESULT_H_

#include <cstdint>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "worker/scheduler/batch_state.h"
#include "worker/scheduler/build_step_plan.h"

namespace tpserve::worker {

struct StepOutcome {
  int64_t generated_tokens = 0;
  int32_t finished = 0;
};

class ApplyStepResult {
 public:
  // `rows` is what StepEngine::Run returned for `step`; `now` is the time the step ended.
  StepOutcome Run(BatchState& state, const PlannedStep& step,
                  absl::Span<const absl::Span<const float>> rows, double step_seconds,
                  absl::Time now) const;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SCHEDULER_APPLY_STEP_RESULT_H_
