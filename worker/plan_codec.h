// StepPlan <-> tpserve.cluster.v1.StepPlan (the wire form a leader sends its followers).
#ifndef TPSERVE_WORKER_PLAN_CODEC_H_
#define TPSERVE_WORKER_PLAN_CODEC_H_

#include "absl/status/statusor.h"
#include "shard/step_plan.h"
#include "tpserve/cluster/v1/step.pb.h"

namespace tpserve::worker {

void EncodePlan(const shard::StepPlan& plan, cluster::v1::StepPlan* out);
// InvalidArgument for an unknown logits mode or a position list whose length does not match.
absl::StatusOr<shard::StepPlan> DecodePlan(const cluster::v1::StepPlan& in);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_PLAN_CODEC_H_
