// WorkerStatus: the state this worker reports in its heartbeats (LOADING / READY / FAILED and a
// detail a person can act on), kept in one place so the group thread sets it and the heartbeat
// thread and metrics read it. Every change is logged once (not per heartbeat).
//
// Thread-safe.
#ifndef TPSERVE_WORKER_WORKER_STATUS_H_
#define TPSERVE_WORKER_WORKER_STATUS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tpserve::worker {

enum class WorkerState : uint8_t {
  kLoading,   // loading the shard, or forming the group
  kReady,     // serving (a leader: its whole group is formed and warmed up)
  kFailed,    // e.g. the group lost a rank; `detail` says why and what happens next
  kDraining,  // asked to stop: out of routing, finishing its streams
};
const char* WorkerStateName(WorkerState state);  // "loading", "ready", "failed", "draining"

class WorkerStatus {
 public:
  struct Snapshot {
    WorkerState state = WorkerState::kLoading;
    std::string detail;
    uint64_t version = 0;  // increases on every change
  };

  // `on_change` (may be empty) runs after every change, outside the lock.
  explicit WorkerStatus(std::string who = "worker",
                        std::function<void(const Snapshot&)> on_change = {});

  void Set(WorkerState state, const std::string& detail);
  Snapshot Get() const;
  // Waits until the state is `state` (true) or `timeout` passes (false).
  bool AwaitState(WorkerState state, absl::Duration timeout) const;

 private:
  const std::string who_;
  std::function<void(const Snapshot&)> on_change_;
  mutable absl::Mutex mu_;
  Snapshot snapshot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_WORKER_STATUS_H_
