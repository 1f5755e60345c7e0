#include "worker/scheduler/build_step_plan.h"

#include <algorithm>
#include <memory>

namespace tpserve::worker {

const char* StepPhaseName(StepPhase phase) {
  switch (phase) {
    case StepPhase::kNone:
      return "none";
    case StepPhase::kPrefill:
      return "prefill";
    case StepPhase::kDecode:
      return "decode";
    case StepPhase::kMixed:
      return "mixed";
  }
  return "none";
}

StepPhase PhaseOf(const shard::StepPlan& plan) {
  bool prefill = false, decode = false;
  for (const shard::SequenceStep& s : plan.sequences) {
    if (s.token_ids.size() == 1 && !s.new_sequence && s.logits == shard::LogitsMode::kLast) {
      decode = true;
    } else {
      prefill = true;
    }
  }
  return prefill && decode ? StepPhase::kMixed
         : decode          ? StepPhase::kDecode
         : prefill         ? StepPhase::kPrefill
                           : StepPhase::kNone;
}

PlannedStep BuildStepPlan::Run(BatchState& state, uint64_t step_id) const {
  PlannedStep out;
  out.plan.step_id = step_id;
  out.plan.release_slots = state.TakePendingRelease();
  int64_t budget = token_budget_;
  for (const std::unique_ptr<Sequence>& seq : state.running()) {
    if (seq->prefilling() || budget <= 0) continue;
    shard::SequenceStep step;
    step.slot = seq->slot;
    step.start_index = static_cast<int32_t>(seq->history.size()) - 1;
    step.token_ids = {seq->history.back()};
    step.position_offset = seq->params.position_offset;
    step.logits = shard::LogitsMode::kLast;
    out.plan.sequences.push_back(std::move(step));
    out.sequences.push_back(seq.get());
    --budget;
    ++out.decode_tokens;
  }
  for (const std::unique_ptr<Sequence>& seq : state.running()) {
    if (!seq->prefilling() || budget <= 0) continue;
    const int64_t left = seq->prompt_len() - seq->prefilled;
    const int64_t n = std::min(left, budget);
    shard::SequenceStep step;
    step.slot = seq->slot;
    step.start_index = seq->prefilled;
    step.new_sequence = seq->prefilled == 0;
    step.token_ids.assign(seq->params.prompt.begin() + seq->prefilled,
                          seq->params.prompt.begin() + seq->prefilled + n);
    step.logits = n == left ? shard::LogitsMode::kLast : shard::LogitsMode::kNone;
    const GenerateParams& p = seq->params;
    if (!p.positions.empty()) {
      step.positions.assign(p.positions.begin() + seq->prefilled,
                            p.positions.begin() + seq->prefilled + n);
    } else {
      step.position_offset = p.position_offset;
    }
    for (const GenerateParams::Image& image : p.images) {
      const int64_t first = image.image.first_token;
      if (first < seq->prefilled + n && first + image.num_tokens > seq->prefilled) {
        step.images.push_back(image.image);
      }
    }
    out.plan.sequences.push_back(std::move(step));
    out.sequences.push_back(seq.get());
    budget -= n;
    out.prefill_tokens += n;
  }
  out.phase = out.decode_tokens > 0 && out.prefill_tokens > 0 ? StepPhase::kMixed
              : out.decode_tokens > 0                         ? StepPhase::kDecode
              : out.prefill_tokens > 0                        ? StepPhase::kPrefill
                                                              : StepPhase::kNone;
  return out;
}

}  // namespace tpserve::worker
