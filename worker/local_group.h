// LocalGroup: a model replica as a tensor-parallel group of processes on this host, driven by this
// process as rank 0. It is the group's one path (GroupLeader / GroupFollower) with two choices
// made: the rendezvous store is a FileStore in a private temporary directory, and the followers are
// launched here as child processes (Subprocess) running `follower_command` — the caller's program,
// which must run a GroupFollower over that directory (the CLI passes itself: `tpserve
// worker-rank`). With tp_size 1 there are no followers: the leader alone is the replica.
//
// Failure: a follower that dies makes the next step fail (its sockets close, so the collective
// fails at once; a hung peer is caught by the collective timeout) with an error naming the rank,
// its pid and how it ended. The group is then broken: later steps fail at once. Destroying the
// LocalGroup shuts the followers down, kills any that do not exit within a grace period and reaps
// them all (no zombies); followers also die with the leader (parent death signal).
#ifndef TPSERVE_WORKER_LOCAL_GROUP_H_
#define TPSERVE_WORKER_LOCAL_GROUP_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/store.h"
#include "ops/base/subprocess.h"
#include "ops/core/backend.h"
#include "shard/model_loader.h"
#include "shard/step_runner.h"
#include "worker/group_comm.h"
#include "worker/group_leader.h"

namespace tpserve::worker {

struct LocalGroupOptions {
  std::string model_dir;
  int tp_size = 1;
  shard::ModelOptions model;
  // CPU threads of each rank; 0: all cores with one rank, 1 each with several.
  int threads_per_rank = 0;
  Transport transport = Transport::kShm;
  // The command line (argv[0] a path) that runs one member; gets `--rank R --world-size N
  // --store DIR --threads T --collective-timeout-ms MS` appended (worker/rank_flags.h).
  std::vector<std::string> follower_command;
  absl::Duration startup_timeout = absl::Minutes(2);
  absl::Duration collective_timeout = absl::Seconds(30);
};

class LocalGroup final : public shard::StepRunner {
 public:
  static absl::StatusOr<std::unique_ptr<LocalGroup>> Start(const LocalGroupOptions& options);
  ~LocalGroup() override;

  absl::StatusOr<shard::StepLogits> Run(const shard::StepPlan& plan) override;
  shard::Qwen35Model& model() override { return leader_->model(); }

  const shard::LoadedModel& loaded() const { return leader_->loaded(); }
  int tp_size() const { return options_.tp_size; }
  std::vector<pid_t> follower_pids() const;
  // Time the leader spent in collectives (waits for slower ranks included).
  double collective_seconds() const { return leader_->collective_seconds(); }
  // "cpu: 2 threads, avx2" or "2 ranks x 1 thread(s) each, shm collectives".
  std::string Describe() const;

 private:
  explicit LocalGroup(const LocalGroupOptions& options) : options_(options) {}
  absl::Status Launch();
  void Stop();
  // "rank 1 (pid 123) was killed by signal 9; ..." for followers that have exited.
  std::string DescribeExitedFollowers();

  LocalGroupOptions options_;
  std::string store_dir_;
  std::unique_ptr<comm::FileStore> store_;
  std::vector<Subprocess> followers_;  // [rank - 1]
  std::vector<bool> reported_;         // [rank - 1]: its exit was described already
  std::unique_ptr<ops::Backend> backend_;
  std::unique_ptr<GroupLeader> leader_;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_LOCAL_GROUP_H_
