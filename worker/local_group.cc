#include "worker/local_group.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"
#include "worker/group_comm.h"
#include "worker/group_setup.h"
#include "worker/plan_codec.h"

namespace tpserve::worker {
namespace {

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("was killed by signal ", WTERMSIG(status));
  return "stopped";
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalGroup>> LocalGroup::Start(const LocalGroupOptions& options) {
  if (options.tp_size < 1 || options.tp_size > 64) {
    return absl::InvalidArgumentError(absl::StrCat("tp size must be in [1, 64], got ", options.tp_size));
  }
  std::unique_ptr<LocalGroup> group(new LocalGroup(options));
  if (absl::Status s = group->Launch(); !s.ok()) {
    const std::string exited = group->DescribeExitedFollowers();
    group->Stop();
    return exited.empty() ? s : Annotate(s, exited);
  }
  return group;
}

absl::Status LocalGroup::Launch() {
  const int tp = options_.tp_size;
  std::string tmpl = (std::filesystem::temp_directory_path() / "tpserve_group_XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create a group directory: ", std::strerror(errno)));
  }
  store_dir_ = tmpl;
  TPS_ASSIGN_OR_RETURN(server_, ControlServer::Listen("127.0.0.1", 0));
  const std::string control = absl::StrCat("127.0.0.1:", server_->port());
  const pid_t leader = getpid();
  for (int r = 1; r < tp; ++r) {
    std::vector<std::string> args = {
        "tpserve", "worker-rank", "--rank", std::to_string(r), "--tp", std::to_string(tp),
        "--store", store_dir_, "--control", control, "--threads",
        std::to_string(options_.threads_per_rank), "--transport", options_.transport,
        "--collective-timeout-ms",
        std::to_string(absl::ToInt64Milliseconds(options_.collective_timeout))};
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    if (pid == 0) {
      // The follower dies with the leader, whatever way the leader ends.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != leader) _exit(1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(options_.tpserve_binary.c_str(), argv.data());
      _exit(127);
    }
    pids_.push_back(pid);
    reaped_.push_back(false);
  }

  // Followers say hello (in any order); each gets the setup.
  const cluster::v1::GroupSetup setup = MakeGroupSetup(options_.model_dir, tp, options_.model);
  const absl::Time deadline = absl::Now() + options_.startup_timeout;
  TPS_RETURN_IF_ERROR(followers_.AcceptAll(*server_, setup, deadline, [&]() -> absl::Status {
    if (!DescribeExitedFollowers().empty()) return absl::UnavailableError("a follower exited during startup");
    return absl::OkStatus();
  }));

  TPS_ASSIGN_OR_RETURN(backend_, ops::CreateBackend({.cpu_threads = options_.threads_per_rank}));
  TPS_ASSIGN_OR_RETURN(comm_, JoinLocalGroup(store_dir_, options_.transport, 0, tp, options_.startup_timeout,
                                             options_.collective_timeout));
  timed_ = std::make_unique<comm::TimedCommunicator>(*comm_);
  const shard::ParallelLayout layout{.tp_size = tp, .tp_rank = 0};
  TPS_ASSIGN_OR_RETURN(loaded_, shard::LoadQwen35Model(options_.model_dir, *backend_, layout, options_.model));
  TPS_RETURN_IF_ERROR(loaded_.model->set_communicator(timed_.get()));
  TPS_RETURN_IF_ERROR(followers_.WaitReady(absl::Now() + options_.startup_timeout));
  timed_->Reset();
  std::string pids;
  for (pid_t p : pids_) absl::StrAppend(&pids, pids.empty() ? "" : ",", p);
  TPS_LOG(kInfo) << "tensor-parallel group of " << tp << " (" << options_.transport
                 << ") ready: leader pid " << getpid()
                 << ", follower pids " << pids;
  return absl::OkStatus();
}

absl::StatusOr<shard::StepLogits> LocalGroup::Run(const shard::StepPlan& plan) {
  if (!broken_.ok()) return broken_;
  cluster::v1::ControlMessage m;
  EncodePlan(plan, m.mutable_step());
  const absl::Status s = Annotate(followers_.SendAll(m), absl::StrCat("sending step ", plan.step_id));
  absl::StatusOr<shard::StepLogits> logits = s.ok() ? loaded_.model->Forward(plan) : s;
  if (logits.ok()) return logits;
  // Let a dying follower finish dying so the error can say who and how.
  const absl::Time until = absl::Now() + absl::Milliseconds(500);
  std::string exited = DescribeExitedFollowers();
  while (exited.empty() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
    exited = DescribeExitedFollowers();
  }
  broken_ = absl::UnavailableError(absl::StrCat(
      "tensor-parallel group of ", options_.tp_size, " failed",
      exited.empty() ? "" : absl::StrCat(" (", exited, ")"), ": ", logits.status().message()));
  comm_->Abort(broken_);
  return broken_;
}

std::string LocalGroup::DescribeExitedFollowers() {
  std::string out;
  for (size_t i = 0; i < pids_.size(); ++i) {
    if (reaped_[i]) continue;
    int status = 0;
    if (waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
      reaped_[i] = true;
      absl::StrAppend(&out, out.empty() ? "" : "; ", "rank ", i + 1, " (pid ", pids_[i], ") ",
                      DescribeExit(status));
    }
  }
  return out;
}

void LocalGroup::Stop() {
  followers_.SendShutdown("leader is done");
  // Grace period, then SIGKILL; reap everything.
  const absl::Time until = absl::Now() + absl::Seconds(5);
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (reaped_[i]) continue;
      int status = 0;
      if (waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
        reaped_[i] = true;
      } else {
        all = false;
      }
    }
    if (all || absl::Now() > until) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (size_t i = 0; i < pids_.size(); ++i) {
    if (reaped_[i]) continue;
    kill(pids_[i], SIGKILL);
    int status = 0;
    waitpid(pids_[i], &status, 0);
    reaped_[i] = true;
  }
  followers_.Close();
  if (!store_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(store_dir_, ec);
  }
}

LocalGroup::~LocalGroup() {
  // The model and communicator go before the followers are told to stop.
  loaded_.model.reset();
  Stop();
}

}  // namespace tpserve::worker
