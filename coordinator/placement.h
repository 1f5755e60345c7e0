// Placement of a single-device worker that registers without an assignment.
//
// Rule: among the catalogue's models that allow TP size 1 and the worker's device kind, pick the
// largest tier (27b > 9b > 4b > 2b > 0.8b > custom; ties: the larger memory need) whose memory per
// rank at TP 1 fits the device's free memory (its total when free is not reported). The memory per
// rank already holds the headroom for the state caches (catalogue.h, MemoryHeadroom: KV + DeltaNet
// state for 8 sequences of up to 4096 tokens, plus 10 % for activations and workspace). The worker
// gets a fresh group of world size 1 named "auto-<worker_id>", so the name is stable when the
// worker registers again with the assignment it was given.
#ifndef TPSERVE_COORDINATOR_PLACEMENT_H_
#define TPSERVE_COORDINATOR_PLACEMENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/catalogue.h"
#include "tpserve/cluster/v1/cluster.pb.h"

namespace tpserve::coordinator {

// FailedPrecondition, naming the device and the smallest need, when nothing fits.
absl::StatusOr<tpserve::cluster::v1::Assignment> PlaceWorker(
    const std::string& worker_id, const tpserve::cluster::v1::DeviceInfo& device,
    const std::vector<ModelEntry>& models);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_PLACEMENT_H_
