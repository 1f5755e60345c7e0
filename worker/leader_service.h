// LeaderService: tpserve.cluster.v1.Leader on a group leader. Each Generate call is one sequence:
// the request is converted (GenerateParamsFromProto), submitted to the Scheduler, and its
// updates are streamed back as GenerateResponses (sampled ids + step timing), ending with
// done: true and the finish reason. Callback API: no thread is held per stream.
//
// Status codes: INVALID_ARGUMENT for a bad request (naming the field), RESOURCE_EXHAUSTED when the
// sequence can never fit the replica's KV pool, FAILED_PRECONDITION while the replica loads,
// UNAVAILABLE when the group is broken, re-forming or shutting down (also for streams in flight
// when the group fails). A cancelled call or an expired deadline cancels the sequence: its slot is
// released by the scheduler's next plan on every rank.
//
// Thread-safety: gRPC calls it from its own threads; the Scheduler is thread-safe.
#ifndef TPSERVE_WORKER_LEADER_SERVICE_H_
#define TPSERVE_WORKER_LEADER_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"
#include "worker/scheduler/scheduler.h"
#include "worker/scheduler/sequence.h"

namespace tpserve::worker {

// The request as the scheduler sees it. proto3 zeros mean "off" where zero is not a meaningful
// value: top_p 0 → 1, repetition_penalty 0 → 1; temperature 0 is greedy.
GenerateParams GenerateParamsFromProto(const cluster::v1::GenerateRequest& request);

class LeaderService final : public cluster::v1::Leader::CallbackService {
 public:
  explicit LeaderService(Scheduler& scheduler) : scheduler_(scheduler) {}

  grpc::ServerWriteReactor<cluster::v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const cluster::v1::GenerateRequest* request) override;

 private:
  Scheduler& scheduler_;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_LEADER_SERVICE_H_
