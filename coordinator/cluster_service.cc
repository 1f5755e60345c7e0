#include "coordinator/cluster_service.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/placement.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "proto/cluster_token.h"
#include "proto/grpc_status.h"

namespace tpserve::coordinator {

namespace cpb = ::tpserve::cluster::v1;

namespace {

// A StoreWait in flight: finishes when the store calls back (value, timeout) or on cancellation.
class StoreWaitReactor final : public grpc::ServerUnaryReactor {
 public:
  StoreWaitReactor(RendezvousStore& store, cpb::StoreWaitResponse* response)
      : store_(store), response_(response) {}

  void Start(const std::string& key, absl::Duration timeout) {
    // The callback may run before Start returns (the key is already set): gRPC holds a Finish
    // issued before the reactor is returned until it is bound.
    id_ = store_.WaitAsync(key, timeout, [this](absl::StatusOr<std::string> value) {
      if (value.ok()) response_->set_value(*std::move(value));
      Finish(ToGrpcStatus(value.status()));
    });
  }
  void OnCancel() override { store_.CancelWait(id_); }
  void OnDone() override { delete this; }

 private:
  RendezvousStore& store_;
  cpb::StoreWaitResponse* response_;
  uint64_t id_ = 0;
};

constexpr std::string_view kReceiver = "this coordinator";

std::string AssignmentString(const cpb::Assignment& a) {
  return absl::StrCat(a.model(), "/", a.group(), " rank ", a.rank(), " of ", a.world_size());
}

}  // namespace

ClusterService::ClusterService(Membership& membership, Catalogue& catalogue, RendezvousStore& store,
                               std::string join_token, std::function<void()> on_change)
    : membership_(membership),
      catalogue_(catalogue),
      store_(store),
      join_token_(std::move(join_token)),
      on_change_(std::move(on_change)) {}

absl::StatusOr<cpb::RegisterResponse> ClusterService::DoRegister(
    const cpb::RegisterRequest& request) {
  if (request.protocol_version() != cpb::CLUSTER_PROTOCOL_VERSION) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cluster protocol version mismatch: the worker speaks version ", request.protocol_version(),
        ", this coordinator speaks version ", static_cast<int>(cpb::CLUSTER_PROTOCOL_VERSION),
        "; run the same tpserve release on both"));
  }
  TPS_RETURN_IF_ERROR(cluster::CheckJoinToken(join_token_, request.join_token(), kReceiver));
  if (request.worker_id().empty()) return absl::InvalidArgumentError("worker_id: required");
  if (request.address().empty()) return absl::InvalidArgumentError("address: required");

  cpb::Assignment assignment = request.assignment();
  if (assignment.model().empty()) {
    TPS_ASSIGN_OR_RETURN(assignment,
                         PlaceWorker(request.worker_id(), request.device(), catalogue_.List()));
    TPS_RETURN_IF_ERROR(catalogue_.Assets(assignment.model()).status());
  } else {
    if (assignment.model_dir().empty()) {
      std::optional<ModelEntry> listed = catalogue_.Find(assignment.model());
      if (!listed.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("assignment.model_dir: required for model '", assignment.model(),
                         "', which is not in the coordinator's catalogue"));
      }
      assignment.set_model_dir(listed->path);
    }
    if (assignment.world_size() < 1 || assignment.rank() < 0 ||
        assignment.rank() >= assignment.world_size()) {
      return absl::InvalidArgumentError(absl::StrCat("assignment: rank ", assignment.rank(),
                                                     " is not in [0, world_size ",
                                                     assignment.world_size(), ")"));
    }
    TPS_RETURN_IF_ERROR(
        catalogue_.Discover(assignment.model(), assignment.model_dir(), assignment.world_size()));
  }
  WorkerRegistration reg;
  reg.worker_id = request.worker_id();
  reg.address = request.address();
  reg.metrics_address = request.metrics_address();
  reg.device = request.device();
  reg.assignment = assignment;
  TPS_RETURN_IF_ERROR(membership_.Register(reg));
  TPS_LOG(kInfo) << "worker " << request.worker_id() << " (" << request.address()
                 << ") registered: " << AssignmentString(assignment);
  cpb::RegisterResponse response;
  *response.mutable_assignment() = assignment;
  response.set_heartbeat_interval_ms(absl::ToInt64Milliseconds(membership_.heartbeat_interval()));
  response.set_lease_ms(absl::ToInt64Milliseconds(membership_.lease()));
  return response;
}

grpc::ServerUnaryReactor* ClusterService::Register(grpc::CallbackServerContext* context,
                                                   const cpb::RegisterRequest* request,
                                                   cpb::RegisterResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<cpb::RegisterResponse> result = DoRegister(*request);
  if (result.ok()) {
    *response = *std::move(result);
    if (on_change_) on_change_();
  } else {
    TPS_LOG(kWarning) << "refused Register from worker '" << request->worker_id()
                      << "': " << result.status().message();
  }
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::Heartbeat(grpc::CallbackServerContext* context,
                                                    const cpb::HeartbeatRequest* request,
                                                    cpb::HeartbeatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = cluster::CheckJoinToken(join_token_, request->join_token(), kReceiver);
      !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  const bool known = membership_.Heartbeat(request->worker_id(), request->state(),
                                           request->detail(), request->load());
  response->set_known(known);
  if (known && on_change_) on_change_();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::StoreSet(grpc::CallbackServerContext* context,
                                                   const cpb::StoreSetRequest* request,
                                                   cpb::StoreSetResponse* /*response*/) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = cluster::CheckJoinToken(join_token_, request->join_token(), kReceiver);
      !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(store_.Set(request->key(), request->value())));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::StoreWait(grpc::CallbackServerContext* /*context*/,
                                                    const cpb::StoreWaitRequest* request,
                                                    cpb::StoreWaitResponse* response) {
  auto* reactor = new StoreWaitReactor(store_, response);
  if (absl::Status s = cluster::CheckJoinToken(join_token_, request->join_token(), kReceiver);
      !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  if (request->key().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "key: required"));
    return reactor;
  }
  const int64_t timeout_ms = std::clamp<int64_t>(request->timeout_ms(), 0, kMaxStoreWaitMs);
  reactor->Start(request->key(), absl::Milliseconds(timeout_ms));
  return reactor;
}

}  // namespace tpserve::coordinator
