// The scheduler's vocabulary: one generation request (GenerateParams), the sink its output goes
// to (SequenceSink), and the step thread's record of it while it waits or runs (Sequence).
#ifndef TPSERVE_WORKER_SCHEDULER_SEQUENCE_H_
#define TPSERVE_WORKER_SCHEDULER_SEQUENCE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "shard/sampling.h"
#include "shard/step_plan.h"

namespace tpserve::worker {

// One sequence to generate, as the leader service hands it over (ids only; no text).
struct GenerateParams {
  std::string request_id;               // for logs
  std::vector<int32_t> prompt;          // token ids
  shard::SamplingParams sampling;       // allowed ranges included
  int32_t max_tokens = 16;              // generated tokens at most
  std::vector<int32_t> stop_token_ids;  // ends after emitting one of these
  int32_t priority = 0;                 // higher is admitted first; FIFO among equals
  int32_t thinking_budget = 0;          // <= 0: no budget
  int32_t think_end_token_id = -1;
  bool in_thinking = false;  // the prompt ends inside an open reasoning block

  // Multimodal prompts (filled at the service edge; empty for text): the M-RoPE positions of
  // every prompt token, the position delta of generated tokens (spec §4), and the images with the
  // prompt span of their pad tokens. BuildStepPlan hands each chunk its slice of positions and the
  // images whose pad tokens overlap it.
  struct Image {
    shard::StepImage image;  // encoded bytes + first pad token
    int32_t num_tokens = 0;  // pad tokens of the image
  };
  std::vector<std::array<int32_t, 3>> positions;  // [prompt.size()] or empty
  int32_t position_offset = 0;
  std::vector<Image> images;
};

enum class FinishReason : uint8_t {
  kStopToken,  // emitted one of stop_token_ids (included in the output)
  kLength,     // emitted max_tokens tokens
};

// What one step produced for one sequence.
struct SequenceUpdate {
  std::vector<int32_t> tokens;
  double step_seconds = 0;      // the step that produced the tokens
  int32_t batch_sequences = 0;  // sequences in that step
  bool first = false;           // the sequence's first update: the two fields below are set
  double queue_seconds = 0;     // submission → first step
  double prefill_seconds = 0;   // first step → first token
  int32_t prompt_tokens = 0;
  std::optional<FinishReason> finish;  // set on the last update
};

// Receives one sequence's output. Called on the step thread only, so implementations must not
// block (queue and return). Exactly one terminal call: an update with `finish`, or OnError.
class SequenceSink {
 public:
  virtual ~SequenceSink() = default;
  virtual void OnUpdate(const SequenceUpdate& update) = 0;
  virtual void OnError(const absl::Status& status) = 0;
};

// The step thread's record of one sequence.
struct Sequence {
  Sequence(uint64_t id_in, GenerateParams params_in, std::shared_ptr<SequenceSink> sink_in)
      : id(id_in),
        params(std::move(params_in)),
        sink(std::move(sink_in)),
        sampler(params.sampling),
        thinking(params.thinking_budget, params.think_end_token_id, params.in_thinking),
        history(params.prompt) {}

  int32_t prompt_len() const { return static_cast<int32_t>(params.prompt.size()); }
  bool prefilling() const { return prefilled < prompt_len(); }
  int32_t generated() const { return static_cast<int32_t>(history.size()) - prompt_len(); }

  const uint64_t id;  // scheduler-wide, increasing: FIFO order among equal priorities
  GenerateParams params;
  std::shared_ptr<SequenceSink> sink;
  shard::Sampler sampler;
  shard::ThinkingBudget thinking;
  std::vector<int32_t> history;  // prompt + generated (repetition penalty; the next decode input)

  int32_t slot = -1;             // while admitted
  int32_t prefilled = 0;         // prompt tokens already in the caches
  bool slot_acquired = false;    // a plan with new_sequence has run
  int64_t blocks_committed = 0;  // KV blocks set aside at admission (prompt + max_tokens)
  absl::Time submitted;
  absl::Time admitted;
  bool sent_first = false;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SCHEDULER_SEQUENCE_H_
