// ServiceFollower: a follower rank started on its own (by `tpserve up`, a StatefulSet, a person),
// not by its leader. It finds the leader through the coordinator's store
// (`<store_prefix>/control`), connects, receives the GroupSetup, loads its shard (once: the
// weights are kept across re-formations of an identical setup), joins the formation's
// communicator under the setup's rendezvous prefix, reports ready, and runs the leader's plans.
//
// When the group breaks (the leader died or re-forms after another rank died) it releases its
// sequence state, drops the communicator and joins again, so the group re-forms as soon as every
// rank is back. Its WorkerStatus says LOADING while it (re)joins, READY while in a formed group,
// FAILED when its shard cannot load.
//
// Run() blocks on the calling thread (the follower's group thread) until `stop` returns true.
#ifndef TPSERVE_WORKER_SERVICE_FOLLOWER_H_
#define TPSERVE_WORKER_SERVICE_FOLLOWER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ops/comm/store.h"
#include "ops/core/backend.h"
#include "shard/model_loader.h"
#include "tpserve/cluster/v1/step.pb.h"
#include "worker/group_comm.h"
#include "worker/worker_metrics.h"
#include "worker/worker_status.h"

namespace tpserve::worker {

struct ServiceFollowerOptions {
  int rank = 1;
  int world_size = 2;
  std::string model_dir;     // this host's copy of the model; empty: the path in the setup
  std::string store_prefix;  // "group/<model>/<group>"
  GroupCommOptions comm;     // the transport comes from the leader's setup when it names one
  // One attempt at the published address; then the key is read again (a restarted leader
  // publishes a new one).
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration setup_timeout = absl::Seconds(60);   // hello → setup
  std::string join_token;  // presented in the hello
};

class ServiceFollower {
 public:
  ServiceFollower(const ServiceFollowerOptions& options, comm::Store& store, ops::Backend& backend,
                  WorkerStatus& status, WorkerMetrics* metrics);
  ~ServiceFollower();

  // Follows leaders until `stop` returns true (then OK). Every failure is retried.
  absl::Status Run(const std::function<bool()>& stop);

  // Formations this rank has joined.
  int formations() const { return formations_; }

 private:
  // One formation: find the leader, join, run plans. Returns why it ended.
  absl::Status JoinOnce(const std::function<bool()>& stop);
  absl::Status EnsureLoaded(const cluster::v1::GroupSetup& setup);
  void ReleaseAllSlots();
  void PublishMemory();
  void SetStatus(WorkerState state, const std::string& detail);

  const ServiceFollowerOptions options_;
  comm::Store& store_;
  ops::Backend& backend_;
  WorkerStatus& status_;
  WorkerMetrics* const metrics_;
  shard::LoadedModel loaded_;
  std::string loaded_setup_;  // the setup the shard was loaded with (prefix cleared), serialized
  int formations_ = 0;
  bool load_failed_ = false;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SERVICE_FOLLOWER_H_
