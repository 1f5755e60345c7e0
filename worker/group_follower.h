// GroupFollower: a rank > 0 of a tensor-parallel group — the one follower of every group, whoever
// started it (its leader's LocalGroup, `tpserve up`, a StatefulSet, a person). It finds the
// leader through the rendezvous Store (`<store_prefix>/control`: a FileStore directory for a
// local group, the coordinator's store in service mode), connects, receives the GroupSetup, loads
// its shard (once: the weights are kept across re-formations of an identical setup), joins the
// formation's communicator under the setup's rendezvous prefix, reports ready, and runs the
// leader's step plans in order until the leader shuts the group down. It never samples and never
// talks to clients.
//
// Run() follows leaders for as long as the process serves: when the group breaks (the leader died
// or re-forms after another rank died) it releases its sequence state, drops the communicator and
// joins again, so the group re-forms as soon as every rank is back. FollowOnce() is a single
// formation (a local group's follower ends with its leader).
//
// The Observer (may be null) hears state changes, steps and memory use: the service worker turns
// them into its WorkerStatus and metrics.
//
// Both block on the calling thread (the follower's group thread).
#ifndef TPSERVE_WORKER_GROUP_FOLLOWER_H_
#define TPSERVE_WORKER_GROUP_FOLLOWER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ops/base/store.h"
#include "ops/comm/timed_communicator.h"
#include "ops/core/backend.h"
#include "shard/model_loader.h"
#include "shard/step_plan.h"
#include "tpserve/cluster/v1/step.pb.h"
#include "worker/control_channel.h"
#include "worker/group_comm.h"

namespace tpserve::worker {

struct GroupFollowerOptions {
  int rank = 1;
  int world_size = 2;
  std::string model_dir;     // this host's copy of the model; empty: the path in the setup
  std::string store_prefix;  // "group/<model>/<group>"
  GroupCommOptions comm;     // the transport comes from the leader's setup when it names one
  // One attempt at the published address; then the key is read again (a restarted leader
  // publishes a new one).
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration setup_timeout = absl::Seconds(60);  // hello → setup, once every rank is in
  std::string join_token;                            // presented in the hello
};

class GroupFollower {
 public:
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void OnLoading(const std::string& detail) = 0;
    virtual void OnReady(const std::string& detail) = 0;
    virtual void OnFailed(const std::string& detail) = 0;
    virtual void OnFormation() = 0;
    // After each plan ran: its wall time and the collective time it spent.
    virtual void OnStep(const shard::StepPlan& plan, double seconds, double collective_seconds) = 0;
    // Sequence memory changed (after a step, a formation, a release).
    virtual void OnMemory(shard::Qwen35Model& model) = 0;
  };

  GroupFollower(const GroupFollowerOptions& options, comm::Store& store, ops::Backend& backend,
                Observer* observer = nullptr);
  ~GroupFollower();

  // Follows leaders until `stop` returns true (then OK). Every failure is retried.
  absl::Status Run(const std::function<bool()>& stop);
  // One formation: find the leader, join, run its plans. OK when the leader shut the group down;
  // Cancelled when `stop` said so; otherwise why the formation ended.
  absl::Status FollowOnce(const std::function<bool()>& stop);

  // Formations this rank has joined.
  int formations() const { return formations_; }

 private:
  absl::Status EnsureLoaded(const cluster::v1::GroupSetup& setup);
  // Runs plans from `conn` until Shutdown (OK), `stop` (Cancelled) or an error (a failed step
  // aborts `comm`, so the other ranks fail at once too).
  absl::Status RunSteps(ControlConnection& conn, comm::TimedCommunicator& comm,
                        const std::function<bool()>& stop, const std::string& who);
  void ReleaseAllSlots();

  const GroupFollowerOptions options_;
  comm::Store& store_;
  ops::Backend& backend_;
  Observer* const observer_;
  shard::LoadedModel loaded_;
  std::string loaded_setup_;  // the setup the shard was loaded with (prefix cleared), serialized
  int formations_ = 0;
  bool load_failed_ = false;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GROUP_FOLLOWER_H_
