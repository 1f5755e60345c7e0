// Who is in the cluster: workers with leases, and the tensor-parallel groups they form.
//
// A worker registers with its assignment (model, group, rank, world size) and then heartbeats;
// each heartbeat renews its lease (2 x the heartbeat interval). A worker whose lease has run out
// is gone: it is out of routing at once (liveness is checked against the clock on every query),
// it is dropped at the next Sweep() or at its next heartbeat, and that heartbeat is answered
// "unknown" so the worker registers again.
//
// A group (model, group id) is ready iff every rank 0..world_size-1 is held by a live worker and
// rank 0 (the leader) reports WORKER_STATE_READY. A group the coordinator saw fail mid-stream is
// marked failed (MarkGroupFailed) until its leader's next READY heartbeat or re-registration.
//
// Time comes from the injected Clock, so tests expire leases by advancing a FakeClock.
// Thread-safe; every method takes one internal lock briefly.
#ifndef TPSERVE_COORDINATOR_MEMBERSHIP_H_
#define TPSERVE_COORDINATOR_MEMBERSHIP_H_

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/clock.h"
#include "tpserve/cluster/v1/cluster.pb.h"

namespace tpserve::coordinator {

struct GroupKey {
  std::string model;
  std::string group;

  std::string ToString() const { return model + "/" + group; }
  friend auto operator<=>(const GroupKey&, const GroupKey&) = default;
  friend bool operator==(const GroupKey&, const GroupKey&) = default;
};

enum class GroupState {
  kReady,       // every rank live, the leader READY
  kLoading,     // every rank live, the leader not READY yet
  kIncomplete,  // some rank has no live worker
  kFailed,      // a rank reports FAILED, or the coordinator saw the group fail mid-stream
  kDraining,    // the leader is stopping: out of routing, its streams in flight finish
};
// "ready", "loading", "incomplete", "failed", "draining" (the metric label values).
const char* GroupStateName(GroupState state);

struct GroupStatus {
  GroupKey key;
  std::string model_dir;
  int world_size = 0;
  int live_ranks = 0;
  GroupState state = GroupState::kIncomplete;
  std::string leader_worker_id;  // empty when rank 0 has no live worker
  std::string leader_address;
  tpserve::cluster::v1::ReplicaLoad load;  // the leader's last report
  std::string detail;                      // why it is not ready

  bool ready() const { return state == GroupState::kReady; }
};

struct WorkerRegistration {
  std::string worker_id;
  std::string address;
  std::string metrics_address;
  tpserve::cluster::v1::DeviceInfo device;
  tpserve::cluster::v1::Assignment assignment;  // complete (explicit or placed)
};

class Membership {
 public:
  Membership(absl::Duration heartbeat_interval, const Clock& clock);

  absl::Duration heartbeat_interval() const { return heartbeat_interval_; }
  absl::Duration lease() const { return 2 * heartbeat_interval_; }

  // Adds or replaces a worker (the same worker_id registering again replaces its record). The
  // lease starts now and the worker's state is LOADING until its first heartbeat.
  // InvalidArgument for an incomplete assignment; Aborted (retry later) when a live worker
  // already holds that rank; FailedPrecondition when the group's other ranks have another world
  // size.
  absl::Status Register(const WorkerRegistration& registration);

  // Renews the lease and records the state and load. False when the worker is unknown or its
  // lease has already expired (it must register again).
  bool Heartbeat(const std::string& worker_id, tpserve::cluster::v1::WorkerState state,
                 const std::string& detail, const tpserve::cluster::v1::ReplicaLoad& load);

  // Takes a group out of routing until its leader next reports READY (or registers again).
  void MarkGroupFailed(const GroupKey& key, const std::string& reason);

  // Drops every worker whose lease has expired; returns how many.
  int SweepExpired();

  // Every group with at least one registered worker, by key.
  std::vector<GroupStatus> Groups() const;
  std::vector<GroupStatus> ReadyGroups(const std::string& model) const;
  std::optional<GroupStatus> Group(const GroupKey& key) const;
  // The smallest max_context the ready leaders of `model` report (0 when none reports one).
  int32_t MinReportedContext(const std::string& model) const;

  // Live workers by reported state: "loading", "ready", "failed", "unspecified".
  std::map<std::string, int> WorkerStateCounts() const;
  bool IsLive(const std::string& worker_id) const;

 private:
  struct Worker {
    WorkerRegistration registration;
    tpserve::cluster::v1::WorkerState state = tpserve::cluster::v1::WORKER_STATE_LOADING;
    std::string detail;
    tpserve::cluster::v1::ReplicaLoad load;
    absl::Time last_seen;
  };

  GroupKey KeyOf(const Worker& w) const;
  bool LiveLocked(const Worker& w, absl::Time now) const;
  void EraseWorkerLocked(const std::string& worker_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  GroupStatus StatusLocked(const GroupKey& key, const std::map<int, std::string>& ranks,
                           absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const absl::Duration heartbeat_interval_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, Worker> workers_ ABSL_GUARDED_BY(mu_);
  std::map<GroupKey, std::map<int, std::string>> ranks_ ABSL_GUARDED_BY(mu_);  // rank -> worker
  std::map<GroupKey, std::string> failed_marks_ ABSL_GUARDED_BY(mu_);          // -> reason
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_MEMBERSHIP_H_
