#include "tests/unit/worker/fake_coordinator.h"

#include <utility>

namespace tpserve::worker::testing {

std::unique_ptr<FakeCoordinator> FakeCoordinator::Start(const FakeCoordinatorOptions& options,
                                                        int port) {
  std::unique_ptr<FakeCoordinator> c(new FakeCoordinator(options));
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_pem.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
    credentials = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), credentials, &c->port_);
  builder.RegisterService(c.get());
  c->server_ = builder.BuildAndStart();
  if (c->server_ == nullptr || c->port_ == 0) return nullptr;
  return c;
}

FakeCoordinator::~FakeCoordinator() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
}

void FakeCoordinator::ForgetWorkers() {
  absl::MutexLock lock(&mu_);
  workers_.clear();
}

std::map<std::string, WorkerRecord> FakeCoordinator::workers() const {
  absl::MutexLock lock(&mu_);
  return workers_;
}

int64_t FakeCoordinator::store_waits() const {
  absl::MutexLock lock(&mu_);
  return store_waits_;
}

bool FakeCoordinator::WaitFor(
    const std::function<bool(const std::map<std::string, WorkerRecord>&)>& pred,
    absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto holds = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return pred(workers_); };
  return mu_.AwaitWithTimeout(absl::Condition(&holds), timeout);
}

grpc::Status FakeCoordinator::Register(grpc::ServerContext*,
                                       const cluster::v1::RegisterRequest* request,
                                       cluster::v1::RegisterResponse* response) {
  if (request->protocol_version() != cluster::v1::CLUSTER_PROTOCOL_VERSION) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "cluster protocol version " + std::to_string(request->protocol_version()) +
                            ", this coordinator speaks " +
                            std::to_string(cluster::v1::CLUSTER_PROTOCOL_VERSION));
  }
  if (!options_.join_token.empty() && request->join_token() != options_.join_token) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong or missing join token");
  }
  absl::MutexLock lock(&mu_);
  WorkerRecord& w = workers_[request->worker_id()];
  w.registration = *request;
  ++w.registrations;
  *response->mutable_assignment() =
      request->assignment().model().empty() ? options_.placement : request->assignment();
  response->set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  response->set_lease_ms(2 * options_.heartbeat_interval_ms);
  return grpc::Status::OK;
}

grpc::Status FakeCoordinator::Heartbeat(grpc::ServerContext*,
                                        const cluster::v1::HeartbeatRequest* request,
                                        cluster::v1::HeartbeatResponse* response) {
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(request->worker_id());
  response->set_known(it != workers_.end());
  if (it != workers_.end()) {
    it->second.last_heartbeat = *request;
    ++it->second.heartbeats;
    it->second.states.push_back(request->state());
  }
  return grpc::Status::OK;
}

grpc::Status FakeCoordinator::StoreSet(grpc::ServerContext*,
                                       const cluster::v1::StoreSetRequest* request,
                                       cluster::v1::StoreSetResponse*) {
  (void)store_.Set(request->key(), request->value());
  return grpc::Status::OK;
}

grpc::Status FakeCoordinator::StoreWait(grpc::ServerContext*,
                                        const cluster::v1::StoreWaitRequest* request,
                                        cluster::v1::StoreWaitResponse* response) {
  {
    absl::MutexLock lock(&mu_);
    ++store_waits_;
  }
  absl::StatusOr<std::string> v =
      store_.Wait(request->key(), absl::Milliseconds(request->timeout_ms()));
  if (!v.ok())
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, std::string(v.status().message()));
  response->set_value(*v);
  return grpc::Status::OK;
}

}  // namespace tpserve::worker::testing
