// StepRunner: runs a StepPlan on a model replica and returns the logits. LocalStepRunner runs it
// on one in-process model; a tensor-parallel group leader's runner also sends each plan to the
// followers (worker/). The generation loop is written against this interface only.
#ifndef TPSERVE_SHARD_STEP_RUNNER_H_
#define TPSERVE_SHARD_STEP_RUNNER_H_

#include "absl/status/statusor.h"
#include "shard/qwen35_model.h"
#include "shard/step_plan.h"

namespace tpserve::shard {

class StepRunner {
 public:
  virtual ~StepRunner() = default;
  virtual absl::StatusOr<StepLogits> Run(const StepPlan& plan) = 0;
  // The replica's model on this process (the leader's shard): its options and slot state mirror
  // every rank's.
  virtual Qwen35Model& model() = 0;
};

class LocalStepRunner final : public StepRunner {
 public:
  explicit LocalStepRunner(Qwen35Model& model) : model_(model) {}
  absl::StatusOr<StepLogits> Run(const StepPlan& plan) override { return model_.Forward(plan); }
  Qwen35Model& model() override { return model_; }

 private:
  Qwen35Model& model_;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_STEP_RUNNER_H_
