// tpserve worker-rank: a follower rank of a local tensor-parallel group. Started by the group's
// leader (`tpserve generate --tp N`, `tpserve bench --tp N`: worker::LocalGroup), not by people.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "ops/base/store.h"
#include "ops/core/backend_registry.h"
#include "tools/cli/commands.h"
#include "worker/group_follower.h"
#include "worker/rank_flags.h"

namespace tpserve::cli {

absl::Status RunWorkerRank(const std::vector<std::string>& argv) {
  // The flags worker::LocalGroup passes to its members (worker/rank_flags.h).
  const FlagList flags = {worker::kRankFlag, worker::kWorldSizeFlag, worker::kStoreFlag,
                          worker::kThreadsFlag, worker::kCollectiveTimeoutMsFlag};
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, flags));
  if (args.help()) {
    std::fputs(absl::StrCat("usage: tpserve worker-rank --rank R --world-size N --store DIR "
                            "[flags]\n"
                            "A follower rank of a local tensor-parallel group (started by its "
                            "leader).\n\n",
                            FlagUsage(flags))
                   .c_str(),
               stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(const model::ParallelLayout layout,
                       worker::GetParallelLayout(args, worker::kWorldSizeFlag, &worker::kRankFlag));
  if (layout.tp_rank == 0)
    return absl::InvalidArgumentError("--rank must be >= 1 (0 is the leader)");
  TPS_ASSIGN_OR_RETURN(std::string store_dir, args.Required(worker::kStoreFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t threads, args.Get(worker::kThreadsFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t timeout_ms, args.Get(worker::kCollectiveTimeoutMsFlag));

  worker::GroupFollowerOptions o;
  o.rank = layout.tp_rank;
  o.world_size = layout.tp_size;
  o.store_prefix = "group";
  o.connect_timeout = absl::Minutes(2);
  o.comm.connect_timeout = absl::Minutes(2);
  o.comm.collective_timeout = absl::Milliseconds(timeout_ms);
  comm::FileStore store(store_dir);
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<ops::Backend> backend,
                       ops::CreateBackend({.cpu_threads = static_cast<int>(threads)}));
  worker::GroupFollower follower(o, store, *backend);
  return follower.FollowOnce([] { return false; });
}

}  // namespace tpserve::cli
