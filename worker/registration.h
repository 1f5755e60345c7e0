// Registration: this worker's membership in the cluster. Register() introduces the worker to the
// coordinator (worker id, addresses, device, assignment, join token, protocol version) and
// returns its assignment (the explicit one, or where the coordinator placed it); then a heartbeat
// thread reports the worker's state — and, for a group leader, its replica's load — on the interval
// the coordinator chose.
//
// Failures never disturb serving:
//   - a heartbeat answered `known: false` (the coordinator restarted) registers again with the
//     same worker id and assignment, then heartbeats go on;
//   - an unreachable coordinator is retried with backoff (at most `max_backoff` apart), and the
//     change is logged once, not per attempt.
//
// Call order: Register → StartHeartbeats → Stop (or destroy). Thread-safe.
#ifndef TPSERVE_WORKER_REGISTRATION_H_
#define TPSERVE_WORKER_REGISTRATION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"

namespace tpserve::worker {

struct RegistrationOptions {
  std::string worker_id;        // stable for the process (MakeWorkerId)
  std::string address;          // this worker's gRPC host:port
  std::string metrics_address;  // host:port of its /metrics
  cluster::v1::DeviceInfo device;
  cluster::v1::Assignment assignment;  // empty model: the coordinator places the worker
  std::string join_token;
  absl::Duration call_timeout = absl::Seconds(5);
  absl::Duration max_backoff = absl::Seconds(2);
};

// What one heartbeat says; asked for just before each heartbeat.
struct HeartbeatReport {
  cluster::v1::WorkerState state = cluster::v1::WORKER_STATE_LOADING;
  std::string detail;
  std::optional<cluster::v1::ReplicaLoad> load;  // leaders only
};

// "<hostname>-<pid>-<8 hex digits>".
std::string MakeWorkerId();

class Registration {
 public:
  Registration(std::shared_ptr<grpc::Channel> channel, RegistrationOptions options);
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  // Registers, retrying with backoff while the coordinator is unreachable or answers Aborted (the
  // rank's previous holder still has a live lease: a restarted worker), until `timeout`
  // (DeadlineExceeded) or until `cancelled` returns true (Cancelled). A refusal ends it at once:
  // FailedPrecondition (protocol versions differ), Unauthenticated (join token), InvalidArgument.
  absl::StatusOr<cluster::v1::Assignment> Register(absl::Duration timeout,
                                                   const std::function<bool()>& cancelled = {});

  // Starts heartbeating; `report` is called on the heartbeat thread.
  void StartHeartbeats(std::function<HeartbeatReport()> report);
  // Sends the next heartbeat now instead of at the next interval (a state change the coordinator
  // should see at once, such as draining).
  void Poke();
  // Stops the heartbeat thread after sending `last` (if given) once, e.g. FAILED "shutting down".
  void Stop(const std::optional<HeartbeatReport>& last = std::nullopt);

  cluster::v1::Assignment assignment() const;
  absl::Duration heartbeat_interval() const;
  int64_t registrations() const;     // successful Register calls, re-registrations included
  int64_t heartbeats_acked() const;  // heartbeats the coordinator answered

 private:
  enum class Link : uint8_t { kOk, kUnreachable, kRefused };

  absl::Status RegisterOnce();
  absl::Status SendHeartbeat(const HeartbeatReport& report, bool* known);
  void HeartbeatLoop();
  void SetLink(Link link, const absl::Status& why);

  std::unique_ptr<cluster::v1::Coordinator::Stub> stub_;
  const RegistrationOptions options_;
  std::function<HeartbeatReport()> report_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  cluster::v1::Assignment assignment_ ABSL_GUARDED_BY(mu_);
  absl::Duration interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  int64_t registrations_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t heartbeats_acked_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool poke_ ABSL_GUARDED_BY(mu_) = false;
  Link link_ ABSL_GUARDED_BY(mu_) = Link::kOk;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_REGISTRATION_H_
