// LocalGroup: a tensor-parallel group of processes on this host, driven by this process as rank 0
// (the leader). It starts tp_size - 1 follower processes (`tpserve worker-rank`), gives them the
// GroupSetup over the control channel, forms the Gloo group (FileStore rendezvous in a private
// temporary directory), loads its own shard and then acts as a StepRunner: each plan is sent to
// every follower and run on the leader's shard; the leader gets the full logits and samples.
//
// Failure: a follower that dies makes the next step fail (its sockets close, so the collective
// fails at once; a hung peer is caught by the collective timeout) with an error naming the rank,
// its pid and how it ended. The group is then broken: later steps fail at once. Destroying the
// LocalGroup shuts followers down, kills any that do not exit within a grace period and reaps them
// all (no zombies); followers also die with the leader (PR_SET_PDEATHSIG).
#ifndef TPSERVE_WORKER_LOCAL_GROUP_H_
#define TPSERVE_WORKER_LOCAL_GROUP_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/comm/timed_communicator.h"
#include "ops/core/backend.h"
#include "shard/model_loader.h"
#include "shard/step_runner.h"
#include "worker/control_channel.h"
#include "worker/follower_set.h"

namespace tpserve::worker {

struct LocalGroupOptions {
  std::string model_dir;
  int tp_size = 2;
  shard::ModelOptions model;
  int threads_per_rank = 1;
  std::string transport = "shm";  // collectives: "shm" (same host) or "gloo" (TCP)
  std::string tpserve_binary = "/proc/self/exe";  // runs `worker-rank` for the followers
  absl::Duration startup_timeout = absl::Minutes(2);
  absl::Duration collective_timeout = absl::Seconds(30);
};

class LocalGroup final : public shard::StepRunner {
 public:
  static absl::StatusOr<std::unique_ptr<LocalGroup>> Start(const LocalGroupOptions& options);
  ~LocalGroup() override;

  absl::StatusOr<shard::StepLogits> Run(const shard::StepPlan& plan) override;
  shard::Qwen35Model& model() override { return *loaded_.model; }

  const shard::LoadedModel& loaded() const { return loaded_; }
  const std::vector<pid_t>& follower_pids() const { return pids_; }
  // Time the leader spent in collectives (waits for slower ranks included).
  const comm::TimedCommunicator& collectives() const { return *timed_; }
  comm::TimedCommunicator& collectives() { return *timed_; }

 private:
  explicit LocalGroup(const LocalGroupOptions& options)
      : options_(options), followers_(options.tp_size) {}
  absl::Status Launch();
  void Stop();
  // "rank 1 (pid 123) was killed by signal 9; ..." for followers that have exited.
  std::string DescribeExitedFollowers();

  LocalGroupOptions options_;
  std::string store_dir_;
  std::unique_ptr<ControlServer> server_;
  std::vector<pid_t> pids_;                                  // [rank - 1]
  FollowerSet followers_;
  std::vector<bool> reaped_;
  std::unique_ptr<ops::Backend> backend_;
  std::unique_ptr<comm::Communicator> comm_;
  std::unique_ptr<comm::TimedCommunicator> timed_;
  shard::LoadedModel loaded_;
  absl::Status broken_;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_LOCAL_GROUP_H_
