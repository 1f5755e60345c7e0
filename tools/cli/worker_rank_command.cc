// tpserve worker-rank: a follower rank of a local tensor-parallel group. Started by the group's
// leader (`tpserve generate --tp N`, `tpserve bench --tp N`: worker::LocalGroup), not by people.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/base/store.h"
#include "ops/core/backend_registry.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "worker/group_follower.h"

namespace tpserve::cli {

absl::Status RunWorkerRank(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(
      Args args,
      Args::Parse(argv, {"rank", "world-size", "store", "threads", "collective-timeout-ms"},
                  {"help"}));
  if (args.Bool("help")) {
    std::fputs(
        "usage: tpserve worker-rank --rank R --world-size N --store DIR [--threads N]\n"
        "                           [--collective-timeout-ms MS]\n"
        "A follower rank of a local tensor-parallel group (started by its leader).\n",
        stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(int64_t rank, args.Int("rank", -1));
  TPS_ASSIGN_OR_RETURN(int64_t world, args.Int("world-size", 0));
  const shard::ParallelLayout layout{.tp_size = static_cast<int>(world),
                                     .tp_rank = static_cast<int>(rank)};
  TPS_RETURN_IF_ERROR(layout.Validate());
  if (layout.tp_rank == 0)
    return absl::InvalidArgumentError("--rank must be >= 1 (0 is the leader)");
  TPS_ASSIGN_OR_RETURN(std::string store_dir, args.Required("store"));
  TPS_ASSIGN_OR_RETURN(int64_t threads, args.Int("threads", 1));
  TPS_ASSIGN_OR_RETURN(int64_t timeout_ms, args.Int("collective-timeout-ms", 30000));

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
