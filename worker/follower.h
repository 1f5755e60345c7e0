// A follower rank of a tensor-parallel group: connects to the leader's control channel, loads its
// shard with the leader's GroupSetup, joins the group's communicator and then runs every StepPlan
// the leader sends, in order, until Shutdown. It never samples and never talks to clients.
//
// RunFollower is the local-group follower (`tpserve worker-rank`, started by its leader);
// RunFollowerSteps is the plan loop it shares with the service-mode follower (ServiceFollower).
#ifndef TPSERVE_WORKER_FOLLOWER_H_
#define TPSERVE_WORKER_FOLLOWER_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ops/comm/communicator.h"
#include "shard/qwen35_model.h"
#include "shard/step_plan.h"
#include "worker/control_channel.h"

namespace tpserve::worker {

struct FollowerOptions {
  int rank = 1;
  int tp_size = 2;
  std::string store_dir;        // the group's FileStore (rendezvous)
  std::string control_address;  // the leader's "host:port"
  int threads = 1;              // CPU threads of this rank
  std::string transport = "shm";  // collectives: "shm" or "gloo"
  absl::Duration startup_timeout = absl::Minutes(5);
  absl::Duration collective_timeout = absl::Seconds(30);
};

// Returns when the leader shuts the group down (OK) or the group breaks (the error).
absl::Status RunFollower(const FollowerOptions& options);

struct FollowerStepHooks {
  // Polled between plans; when it returns true the loop ends with Cancelled.
  std::function<bool()> stop;
  // After each plan ran: the plan and its wall time.
  std::function<void(const shard::StepPlan& plan, double seconds)> on_step;
};

// Runs the leader's plans from `conn` on `model` until Shutdown (OK), `hooks.stop` (Cancelled) or
// an error (a failed step aborts `comm`, so the other ranks fail at once too). `who` prefixes
// errors ("rank 1 of 2").
absl::Status RunFollowerSteps(ControlConnection& conn, shard::Qwen35Model& model,
                              comm::Communicator& comm, const std::string& who,
                              const FollowerStepHooks& hooks = {});

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_FOLLOWER_H_
