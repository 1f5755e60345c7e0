// Worker: one tpserve-worker process — one device, one shard. It wires the parts together and has
// no logic of its own:
//
//   gRPC server (Leader service on rank 0, health) → port file → Registration (register, then
//   heartbeats) → rank 0: GroupLeader + Scheduler, re-forming the group whenever it breaks;
//   other ranks: GroupFollower → on RequestStop: drain (leader), tell followers, last
//   heartbeat (FAILED "shutting down"), stop the server.
//
// Threads: Run()'s caller is the group thread (formation and steps); gRPC's threads serve streams
// (they only enqueue into the Scheduler); Registration has its heartbeat thread.
#ifndef TPSERVE_WORKER_WORKER_H_
#define TPSERVE_WORKER_WORKER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "model/parallel_layout.h"
#include "ops/core/backend.h"
#include "shard/qwen35_model.h"
#include "worker/group_comm.h"
#include "worker/grpc_store.h"
#include "worker/leader_service.h"
#include "worker/registration.h"
#include "worker/scheduler/scheduler.h"
#include "worker/worker_metrics.h"
#include "worker/worker_status.h"

namespace tpserve::worker {

struct WorkerOptions {
  std::string coordinator;  // the coordinator's cluster API, host:port
  std::string model_dir;    // empty: the directory the coordinator's placement names
  std::string model_name;   // served name; empty: model_dir's base name
  // Explicit assignment (a LeaderWorkerSet / StatefulSet ordinal); otherwise placed.
  bool assigned = false;
  std::string group = "0";
  model::ParallelLayout layout;  // rank and world size, validated by the flags
  std::string listen = "127.0.0.1:0";
  std::string metrics_address;  // where main() serves /metrics (host:port), for registration
  int metrics_port = 0;         // for the port file
  int threads = 1;
  Transport transport = Transport::kShm;
  shard::ModelOptions model;  // max_slots, max_context, kv dtype, tokens per step, KV blocks
  SchedulerOptions scheduler;
  absl::Duration collective_timeout = absl::Seconds(30);
  std::string join_token;         // the cluster's shared secret (proto/cluster_token.h)
  std::string tls_ca_pem;         // verify the coordinator's cluster certificate
  std::string tls_cert, tls_key;  // files: serve the Leader API over TLS
  std::string port_file;          // {"grpc":P,"metrics":P} once listening
  absl::Duration drain_timeout = absl::Seconds(30);
  absl::Duration register_timeout = absl::InfiniteDuration();
};

class Worker {
 public:
  // `metrics` (may be null) is owned by main().
  Worker(WorkerOptions options, WorkerMetrics* metrics);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves until RequestStop() (OK) or a failure it cannot recover from (the error).
  absl::Status Run();
  // Thread-safe, returns at once (e.g. from a signal-watching thread).
  void RequestStop() { stop_.store(true); }

 private:
  absl::Status StartServer();
  absl::Status WritePortFile() const;
  absl::Status RunLeader(const cluster::v1::Assignment& assignment, const std::string& model_dir);
  absl::Status RunFollower(const cluster::v1::Assignment& assignment, const std::string& model_dir);
  HeartbeatReport Report() const;
  void OnStatusChange(const WorkerStatus::Snapshot& snapshot);
  bool stopping() const { return stop_.load(); }

  WorkerOptions options_;
  WorkerMetrics* const metrics_;
  std::atomic<bool> stop_{false};
  std::string host_;     // the address others reach this worker on (IPv4)
  std::string address_;  // host_:grpc port
  int grpc_port_ = 0;
  std::string worker_id_;
  std::string ready_line_;
  bool printed_ready_ = false;
  std::atomic<bool> is_leader_{false};

  std::unique_ptr<ops::Backend> backend_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<LeaderService> leader_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcStore> store_;
  std::unique_ptr<Registration> registration_;
  std::unique_ptr<WorkerStatus> status_;
};

// The IPv4 address to advertise for a listen host: itself when it is an address other than
// 0.0.0.0, the host name's first IPv4 address for 0.0.0.0 / "" / a host name, else 127.0.0.1.
std::string AdvertisedHost(const std::string& listen_host);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_WORKER_H_
