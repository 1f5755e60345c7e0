// FakeCoordinator: the coordinator's cluster API for worker tests — Register, Heartbeat and the
// rendezvous store (StoreSet / StoreWait over an InProcessStore) — on a real gRPC server on
// loopback. It records every worker's registration and last heartbeat, can forget workers (as a
// restarted coordinator does) and checks the protocol version and join token like the real one.
#ifndef TPSERVE_TESTS_UNIT_WORKER_FAKE_COORDINATOR_H_
#define TPSERVE_TESTS_UNIT_WORKER_FAKE_COORDINATOR_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "ops/base/store.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"

namespace tpserve::worker::testing {

struct FakeCoordinatorOptions {
  int64_t heartbeat_interval_ms = 100;
  std::string join_token;                 // empty: none needed
  cluster::v1::Assignment placement;      // given to workers that register without one
  std::string tls_cert_pem, tls_key_pem;  // both set: serve TLS
};

struct WorkerRecord {
  cluster::v1::RegisterRequest registration;
  int registrations = 0;
  cluster::v1::HeartbeatRequest last_heartbeat;
  int heartbeats = 0;
  std::vector<cluster::v1::WorkerState> states;  // of every heartbeat, in order
};

class FakeCoordinator final : public cluster::v1::Coordinator::Service {
 public:
  // Serves on 127.0.0.1:`port` (0: any free port).
  static std::unique_ptr<FakeCoordinator> Start(const FakeCoordinatorOptions& options,
                                                int port = 0);
  ~FakeCoordinator() override;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  comm::InProcessStore& store() { return store_; }

  // Forgets every worker: their next heartbeat is answered known: false.
  void ForgetWorkers();
  std::map<std::string, WorkerRecord> workers() const;
  // Waits until `pred(workers())` holds.
  bool WaitFor(const std::function<bool(const std::map<std::string, WorkerRecord>&)>& pred,
               absl::Duration timeout) const;
  int64_t store_waits() const;

  grpc::Status Register(grpc::ServerContext* context, const cluster::v1::RegisterRequest* request,
                        cluster::v1::RegisterResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const cluster::v1::HeartbeatRequest* request,
                         cluster::v1::HeartbeatResponse* response) override;
  grpc::Status StoreSet(grpc::ServerContext* context, const cluster::v1::StoreSetRequest* request,
                        cluster::v1::StoreSetResponse* response) override;
  grpc::Status StoreWait(grpc::ServerContext* context, const cluster::v1::StoreWaitRequest* request,
                         cluster::v1::StoreWaitResponse* response) override;

 private:
  explicit FakeCoordinator(const FakeCoordinatorOptions& options) : options_(options) {}

  FakeCoordinatorOptions options_;
  comm::InProcessStore store_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  mutable absl::Mutex mu_;
  std::map<std::string, WorkerRecord> workers_ ABSL_GUARDED_BY(mu_);
  int64_t store_waits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tpserve::worker::testing

#endif  // TPSERVE_TESTS_UNIT_WORKER_FAKE_COORDINATOR_H_
