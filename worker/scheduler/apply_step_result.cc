#include "worker/scheduler/apply_step_result.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "ops/base/check.h"

namespace tpserve::worker {

StepOutcome ApplyStepResult::Run(BatchState& state, const PlannedStep& step,
                                 absl::Span<const absl::Span<const float>> rows,
                                 double step_seconds, absl::Time now) const {
  TPS_CHECK(rows.size() == step.sequences.size(), "one logits row slot per planned sequence");
  StepOutcome outcome;
  std::vector<const Sequence*> done;
  const int32_t batch = static_cast<int32_t>(step.sequences.size());
  for (size_t i = 0; i < step.sequences.size(); ++i) {
    Sequence& seq = *step.sequences[i];
    seq.slot_acquired = true;
    if (seq.prefilling()) {
      seq.prefilled += static_cast<int32_t>(step.plan.sequences[i].token_ids.size());
    }
    if (rows[i].empty()) continue;
    const std::optional<int32_t> forced = seq.thinking.Forced();
    const int32_t token = forced.has_value() ? *forced : seq.sampler.Sample(rows[i], seq.history);
    seq.history.push_back(token);
    seq.thinking.Observe(token);
    ++outcome.generated_tokens;

    SequenceUpdate update;
    update.tokens = {token};
    update.step_seconds = step_seconds;
    update.batch_sequences = batch;
    if (!seq.sent_first) {
      update.first = true;
      update.queue_seconds = absl::ToDoubleSeconds(seq.admitted - seq.submitted);
      update.prefill_seconds = absl::ToDoubleSeconds(now - seq.admitted);
      update.prompt_tokens = seq.prompt_len();
      seq.sent_first = true;
    }
    const auto& stops = seq.params.stop_token_ids;
    if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
      update.finish = FinishReason::kStopToken;
    } else if (seq.generated() >= seq.params.max_tokens) {
      update.finish = FinishReason::kLength;
    }
    if (update.finish.has_value()) {
      update.prompt_tokens = seq.prompt_len();
      done.push_back(&seq);
    }
    seq.sink->OnUpdate(update);
  }
  for (const Sequence* seq : done) {
    auto& running = state.running();
    for (size_t j = 0; j < running.size(); ++j) {
      if (running[j].get() == seq) {
        state.Retire(j);
        ++outcome.finished;
        break;
      }
    }
  }
  return outcome;
}

}  // namespace tpserve::worker
