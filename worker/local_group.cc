#include "worker/local_group.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"
#include "worker/rank_flags.h"

namespace tpserve::worker {
namespace {

constexpr char kStorePrefix[] = "group";

}  // namespace

absl::StatusOr<std::unique_ptr<LocalGroup>> LocalGroup::Start(const LocalGroupOptions& options) {
  TPS_RETURN_IF_ERROR(model::ParallelLayout{.tp_size = options.tp_size}.Validate());
  if (options.tp_size > 1 && options.follower_command.empty()) {
    return absl::InvalidArgumentError("a local group of several ranks needs a follower command");
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
  const int threads = options_.threads_per_rank > 0 ? options_.threads_per_rank : tp > 1 ? 1 : 0;
  if (tp > 1) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tpserve_group_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot create a group directory: ", std::strerror(errno)));
    }
    store_dir_ = tmpl;
  }
  store_ = std::make_unique<comm::FileStore>(store_dir_);
  for (int r = 1; r < tp; ++r) {
    std::vector<std::string> argv = options_.follower_command;
    for (const std::vector<std::string>& flag :
         {FlagArgs(kRankFlag, std::to_string(r)), FlagArgs(kWorldSizeFlag, std::to_string(tp)),
          FlagArgs(kStoreFlag, store_dir_), FlagArgs(kThreadsFlag, std::to_string(threads)),
          FlagArgs(kCollectiveTimeoutMsFlag,
                   std::to_string(absl::ToInt64Milliseconds(options_.collective_timeout)))}) {
      argv.insert(argv.end(), flag.begin(), flag.end());
    }
    TPS_ASSIGN_OR_RETURN(Subprocess follower, Subprocess::Exec(argv));
    followers_.push_back(std::move(follower));
    reported_.push_back(false);
  }

  TPS_ASSIGN_OR_RETURN(backend_, ops::CreateBackend({.cpu_threads = threads}));
  GroupLeaderOptions lo;
  lo.model_dir = options_.model_dir;
  lo.world_size = tp;
  lo.model = options_.model;
  lo.control_host = "127.0.0.1";
  lo.store_prefix = kStorePrefix;
  lo.comm.transport = options_.transport;
  lo.comm.connect_timeout = options_.startup_timeout;
  lo.comm.collective_timeout = options_.collective_timeout;
  lo.accept_timeout = options_.startup_timeout;
  lo.ready_timeout = options_.startup_timeout;
  TPS_ASSIGN_OR_RETURN(leader_, GroupLeader::Create(lo, *store_, *backend_));
  TPS_RETURN_IF_ERROR(leader_->Form([&]() -> absl::Status {
    for (Subprocess& f : followers_) {
      if (!f.Running()) return absl::UnavailableError("a follower exited during startup");
    }
    return absl::OkStatus();
  }));
  if (tp > 1) {
    std::string pids;
    for (pid_t p : follower_pids()) absl::StrAppend(&pids, pids.empty() ? "" : ",", p);
    TPS_LOG(kInfo) << "tensor-parallel group of " << tp << " (" << TransportName(options_.transport)
                   << ") ready: leader pid " << getpid() << ", follower pids " << pids;
  }
  return absl::OkStatus();
}

std::vector<pid_t> LocalGroup::follower_pids() const {
  std::vector<pid_t> out;
  for (const Subprocess& f : followers_) out.push_back(f.pid());
  return out;
}

std::string LocalGroup::Describe() const {
  if (options_.tp_size == 1) return backend_->info().description;
  return absl::StrCat(options_.tp_size, " ranks x ",
                      options_.threads_per_rank > 0 ? options_.threads_per_rank : 1,
                      " thread(s) each, ", TransportName(options_.transport), " collectives");
}

absl::StatusOr<shard::StepLogits> LocalGroup::Run(const shard::StepPlan& plan) {
  absl::StatusOr<shard::StepLogits> logits = leader_->Run(plan);
  if (logits.ok() || options_.tp_size == 1) return logits;
  // Let a dying follower finish dying so the error can say who and how.
  const absl::Time until = absl::Now() + absl::Milliseconds(500);
  std::string exited = DescribeExitedFollowers();
  while (exited.empty() && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
    exited = DescribeExitedFollowers();
  }
  if (exited.empty()) return logits;
  return absl::Status(logits.status().code(),
                      absl::StrCat(logits.status().message(), " (", exited, ")"));
}

std::string LocalGroup::DescribeExitedFollowers() {
  std::string out;
  for (size_t i = 0; i < followers_.size(); ++i) {
    if (reported_[i] || followers_[i].Running()) continue;
    reported_[i] = true;
    absl::StrAppend(&out, out.empty() ? "" : "; ", "rank ", i + 1, " (pid ", followers_[i].pid(),
                    ") ", followers_[i].DescribeExit());
  }
  return out;
}

void LocalGroup::Stop() {
  // Followers told to shut down get a grace period; without a leader (startup failed) they
  // are only waiting for it. Then SIGKILL; every follower is reaped.
  absl::Duration grace = absl::ZeroDuration();
  if (leader_ != nullptr) {
    leader_->Shutdown("the leader is done");
    grace = absl::Seconds(5);
  }
  const absl::Time until = absl::Now() + grace;
  for (Subprocess& f : followers_) {
    if (!f.WaitFor(std::max(absl::ZeroDuration(), until - absl::Now())).has_value()) f.Kill();
  }
  followers_.clear();
  if (!store_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(store_dir_, ec);
  }
}

LocalGroup::~LocalGroup() {
  Stop();
  leader_.reset();
}

}  // namespace tpserve::worker
