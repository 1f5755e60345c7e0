// tpserve.cluster.v1.Coordinator: what workers call (the cluster port).
//
//   Register   protocol version (FAILED_PRECONDITION naming both versions), join token
//              (UNAUTHENTICATED), then the assignment: the worker's own, or a placement from the
//              catalogue; the model's directory must be loadable by the coordinator
//              (FAILED_PRECONDITION otherwise). Answers the assignment, heartbeat interval and
//              lease.
//   Heartbeat  renews the lease; known: false for a worker the coordinator does not know (it
//              restarted, or the lease ran out), which makes the worker register again.
//   StoreSet / StoreWait  the rendezvous store; a wait holds no thread (RendezvousStore::WaitAsync)
//              and ends with DEADLINE_EXCEEDED naming the key after its timeout.
//
// On gRPC's callback API; Register may load a model's tokenizer on first sight of the model
// (once per model). Thread-safe.
#ifndef TPSERVE_COORDINATOR_CLUSTER_SERVICE_H_
#define TPSERVE_COORDINATOR_CLUSTER_SERVICE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/catalogue.h"
#include "coordinator/membership.h"
#include "coordinator/rendezvous_store.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"

namespace tpserve::coordinator {

class ClusterService final : public tpserve::cluster::v1::Coordinator::CallbackService {
 public:
  static constexpr int64_t kMaxStoreWaitMs = 10 * 60 * 1000;

  // `on_change` runs after a registration or a heartbeat that changed a worker's state (the
  // coordinator re-routes waiting requests).
  ClusterService(Membership& membership, Catalogue& catalogue, RendezvousStore& store,
                 std::string join_token, std::function<void()> on_change);

  // The Register logic without gRPC (tests call it directly).
  absl::StatusOr<tpserve::cluster::v1::RegisterResponse> DoRegister(
      const tpserve::cluster::v1::RegisterRequest& request);

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const tpserve::cluster::v1::RegisterRequest* request,
                                     tpserve::cluster::v1::RegisterResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const tpserve::cluster::v1::HeartbeatRequest* request,
                                      tpserve::cluster::v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* StoreSet(grpc::CallbackServerContext* context,
                                     const tpserve::cluster::v1::StoreSetRequest* request,
                                     tpserve::cluster::v1::StoreSetResponse* response) override;
  grpc::ServerUnaryReactor* StoreWait(grpc::CallbackServerContext* context,
                                      const tpserve::cluster::v1::StoreWaitRequest* request,
                                      tpserve::cluster::v1::StoreWaitResponse* response) override;

 private:
  Membership& membership_;
  Catalogue& catalogue_;
  RendezvousStore& store_;
  const std::string join_token_;
  std::function<void()> on_change_;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_CLUSTER_SERVICE_H_
