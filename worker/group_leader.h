// GroupLeader: rank 0 of a tensor-parallel group — the one leader of every group, whoever started
// its ranks. The group's followers (GroupFollower) find it through a rendezvous Store: a directory
// (FileStore) for a local group whose members this process spawned (LocalGroup), the
// coordinator's store (GrpcStore) for workers started on their own (service mode); an NCCL
// unique id will travel the same way.
//
// It loads the leader's shard, publishes its control-channel address (`<store_prefix>/control`),
// and forms the group: accepts world_size - 1 followers, sends each the GroupSetup, joins the
// communicator under a rendezvous prefix unique to this leader instance and formation
// (`<store_prefix>/formation/<instance>-<n>`, so a re-formed group never reads a stale key), waits
// until every follower has loaded, and warms up with one tiny step. It is then the replica's
// StepRunner: each plan goes to every follower and runs on the leader's shard; the leader gets the
// full logits and samples.
//
// A broken group (a follower died, a step failed) is torn down with Break() — the communicator
// is aborted, the followers' connections closed (so surviving followers re-join) and every slot
// released — and formed again with Form() once the ranks are back. The weights stay loaded.
//
// With world_size 1 there are no followers: Form() only publishes and warms up.
//
// Thread-safety: one thread (the leader's group thread) at a time.
#ifndef TPSERVE_WORKER_GROUP_LEADER_H_
#define TPSERVE_WORKER_GROUP_LEADER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/store.h"
#include "ops/comm/timed_communicator.h"
#include "ops/core/backend.h"
#include "shard/model_loader.h"
#include "shard/step_runner.h"
#include "worker/control_channel.h"
#include "worker/follower_set.h"
#include "worker/group_comm.h"

namespace tpserve::worker {

struct GroupLeaderOptions {
  std::string model_dir;
  int world_size = 1;
  shard::ModelOptions model;
  std::string control_host = "127.0.0.1";  // IPv4 address followers reach this leader on
  std::string store_prefix;                // "group/<model>/<group>" in service mode
  GroupCommOptions comm;
  // Followers connecting (a local group's spawned ranks; infinite for ranks started on their own).
  absl::Duration accept_timeout = absl::InfiniteDuration();
  absl::Duration ready_timeout = absl::Minutes(10);  // followers loading their shards
  std::string join_token;  // followers' hellos must carry it (empty: not checked)
};

class GroupLeader final : public shard::StepRunner {
 public:
  // Listens on the control channel and loads the leader's shard.
  static absl::StatusOr<std::unique_ptr<GroupLeader>> Create(const GroupLeaderOptions& options,
                                                             comm::Store& store,
                                                             ops::Backend& backend);
  ~GroupLeader() override;

  // Forms the group (see above). `check` runs while waiting for followers; its error (e.g.
  // Cancelled on shutdown) ends the wait. On error the caller calls Break() before trying again.
  absl::Status Form(const std::function<absl::Status()>& check);
  // Tears the formation down (idempotent).
  void Break(const absl::Status& why);
  // OK while every follower's control connection is open; cheap (one poll), so the scheduler
  // calls it between steps to notice a dead follower even when idle.
  absl::Status CheckFollowers() { return followers_.CheckOpen(); }
  // Tells the followers to shut down and closes their connections.
  void Shutdown(const std::string& reason);

  absl::StatusOr<shard::StepLogits> Run(const shard::StepPlan& plan) override;
  shard::Qwen35Model& model() override { return *loaded_.model; }

  const shard::LoadedModel& loaded() const { return loaded_; }
  // Time the leader spent in collectives (waits for slower ranks included), all formations.
  double collective_seconds() const {
    return timed_ ? timed_->seconds() + collective_before_ : collective_before_;
  }
  std::string control_address() const;
  int64_t formations() const { return formations_; }

 private:
  GroupLeader(const GroupLeaderOptions& options, comm::Store& store)
      : options_(options), store_(store), followers_(options.world_size, options.join_token) {}
  absl::Status WarmUp();

  GroupLeaderOptions options_;
  comm::Store& store_;
  std::string instance_;  // random, per process
  std::unique_ptr<ControlServer> server_;
  FollowerSet followers_;
  shard::LoadedModel loaded_;
  std::unique_ptr<comm::Communicator> comm_;
  std::unique_ptr<comm::TimedCommunicator> timed_;
  double collective_before_ = 0;  // collective seconds of earlier formations
  absl::Status broken_;
  int64_t formations_ = 0;
  uint64_t next_step_id_ = 1ull << 62;  // warm-up steps, apart from the scheduler's ids
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GROUP_LEADER_H_
