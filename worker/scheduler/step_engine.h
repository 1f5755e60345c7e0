// StepEngine: what the leader's scheduler needs from a model replica. It runs one StepPlan and
// returns, per planned sequence, the logits row to sample from; it also reports the replica's
// limits and memory use. RunnerStepEngine adapts a shard::StepRunner (an in-process model, or a
// tensor-parallel group whose leader this process is); tests use a fake with closed-form logits.
//
// Thread-safety: used by the step thread only.
#ifndef TPSERVE_WORKER_SCHEDULER_STEP_ENGINE_H_
#define TPSERVE_WORKER_SCHEDULER_STEP_ENGINE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "shard/step_plan.h"
#include "shard/step_runner.h"

namespace tpserve::worker {

// Fixed facts of a replica, known once its model is loaded.
struct EngineLimits {
  int32_t max_slots = 1;              // concurrent sequences (DeltaNet state rows)
  int32_t max_context = 4096;         // tokens per sequence (prompt + generated)
  int64_t max_tokens_per_step = 256;  // tokens one step may carry
  int64_t max_logit_rows = 256;       // logits rows one step may produce
  int32_t kv_block_size = 16;         // tokens per KV block
  int64_t num_kv_blocks = 0;          // the KV pool, in blocks
  int64_t vocab_size = 0;             // rows of the LM head (padding included)
  bool has_vision = false;

  // Blocks a sequence of `tokens` tokens needs.
  int64_t BlocksFor(int64_t tokens) const { return (tokens + kv_block_size - 1) / kv_block_size; }
};

// The vision tower of a replica, as this rank runs it.
struct VisionUsage {
  const char* parallelism = "none";  // "tensor", "data" or "none" (no tower)
  int64_t images_run = 0;            // vision::ImageEncoder::images_run()
};

// The vision usage of a loaded model on this rank.
VisionUsage VisionUsageOf(shard::Qwen35Model& model);

struct MemoryUsage {
  int32_t slots_in_use = 0;
  int64_t blocks_in_use = 0;
};

class StepEngine {
 public:
  virtual ~StepEngine() = default;

  virtual const EngineLimits& limits() const = 0;
  // Runs `plan`. On success, one span per plan.sequences[i]: the logits row [vocab] of that
  // sequence's last token, or an empty span for LogitsMode::kNone. Valid until the next Run.
  virtual absl::StatusOr<std::vector<absl::Span<const float>>> Run(const shard::StepPlan& plan) = 0;
  virtual MemoryUsage memory_usage() const = 0;
  // Seconds spent in collectives since the engine started (0 for a single rank).
  virtual double collective_seconds() const { return 0.0; }
  virtual VisionUsage vision_usage() const { return {}; }
};

// A StepEngine over a StepRunner. `collective_seconds` (may be empty) reports the group's
// collective time.
class RunnerStepEngine final : public StepEngine {
 public:
  explicit RunnerStepEngine(shard::StepRunner& runner,
                            std::function<double()> collective_seconds = {});

  const EngineLimits& limits() const override { return limits_; }
  absl::StatusOr<std::vector<absl::Span<const float>>> Run(const shard::StepPlan& plan) override;
  MemoryUsage memory_usage() const override;
  double collective_seconds() const override {
    return collective_seconds_ ? collective_seconds_() : 0.0;
  }
  VisionUsage vision_usage() const override { return VisionUsageOf(runner_.model()); }

 private:
  shard::StepRunner& runner_;
  std::function<double()> collective_seconds_;
  EngineLimits limits_;
};

// The limits of a loaded model.
EngineLimits LimitsOf(shard::Qwen35Model& model);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SCHEDULER_STEP_ENGINE_H_
