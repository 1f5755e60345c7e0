// BuildStepPlan: turns the running batch into the next StepPlan under a per-step token budget.
//
// Policy (chunked prefill, decode first — Sarathi / vLLM's chunked-prefill scheduler):
//   1. the slots of sequences retired since the last step are released (the plan's release list);
//   2. every decoding sequence gets one token (its last sampled token), so running streams keep
//      flowing whatever arrives;
//   3. the rest of the budget goes to prompts still being prefilled, oldest admission first, each
//      taking min(prompt tokens left, budget left): a long prompt is spread over several steps
//      and a new sequence can join mid-prompt of another.
// Only a chunk that completes its prompt asks for logits (LogitsMode::kLast).
#ifndef TPSERVE_WORKER_SCHEDULER_BUILD_STEP_PLAN_H_
#define TPSERVE_WORKER_SCHEDULER_BUILD_STEP_PLAN_H_

#include <cstdint>
#include <vector>

#include "shard/step_plan.h"
#include "worker/scheduler/batch_state.h"

namespace tpserve::worker {

enum class StepPhase : uint8_t {
  kNone,     // releases only
  kPrefill,  // prompt chunks only
  kDecode,   // decode tokens only
  kMixed,    // both
};

const char* StepPhaseName(StepPhase phase);  // "none", "prefill", "decode", "mixed"
// The phase of any plan (a follower's view): a sequence step is a decode when it carries one
// token of a sequence already started and asks for its logits.
StepPhase PhaseOf(const shard::StepPlan& plan);

struct PlannedStep {
  shard::StepPlan plan;
  std::vector<Sequence*> sequences;  // parallel to plan.sequences
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
  StepPhase phase = StepPhase::kNone;

  bool empty() const { return plan.sequences.empty() && plan.release_slots.empty(); }
};

class BuildStepPlan {
 public:
  // `token_budget` must be at least the number of slots (every sequence may be decoding).
  explicit BuildStepPlan(int64_t token_budget) : token_budget_(token_budget) {}

  PlannedStep Run(BatchState& state, uint64_t step_id) const;
  int64_t token_budget() const { return token_budget_; }

 private:
  int64_t token_budget_;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SCHEDULER_BUILD_STEP_PLAN_H_
