// A follower rank of a tensor-parallel group: connects to the leader's control channel, loads its
// shard with the leader's GroupSetup, joins the group's communicator and then runs every StepPlan
// the leader sends, in order, until Shutdown. It never samples and never talks to clients.
#ifndef TPSERVE_WORKER_FOLLOWER_H_
#define TPSERVE_WORKER_FOLLOWER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

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

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_FOLLOWER_H_
