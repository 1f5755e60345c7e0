// tpserve worker-rank: a follower rank of a local tensor-parallel group. Started by the group's
// leader (`tpserve generate --tp N`, `tpserve bench --tp N`), not by people.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "worker/follower.h"

namespace tpserve::cli {

absl::Status RunWorkerRank(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"rank", "tp", "store", "control", "threads",
                                                     "transport", "collective-timeout-ms"},
                                              {"help"}));
  if (args.Bool("help")) {
    std::fputs("usage: tpserve worker-rank --rank R --tp N --store DIR --control HOST:PORT\n"
               "                           [--threads N] [--transport shm|gloo] [--collective-timeout-ms MS]\n"
               "A follower rank of a local tensor-parallel group (started by its leader).\n",
               stdout);
    return absl::OkStatus();
  }
  worker::FollowerOptions o;
  TPS_ASSIGN_OR_RETURN(int64_t rank, args.Int("rank", -1));
  TPS_ASSIGN_OR_RETURN(int64_t tp, args.Int("tp", 0));
  if (tp < 2 || rank < 1 || rank >= tp) {
    return absl::InvalidArgumentError(absl::StrCat("--rank must be in [1, --tp) and --tp >= 2, got rank ",
                                                   rank, " tp ", tp));
  }
  o.rank = static_cast<int>(rank);
  o.tp_size = static_cast<int>(tp);
  TPS_ASSIGN_OR_RETURN(o.store_dir, args.Required("store"));
  TPS_ASSIGN_OR_RETURN(o.control_address, args.Required("control"));
  TPS_ASSIGN_OR_RETURN(int64_t threads, args.Int("threads", 1));
  o.threads = static_cast<int>(threads);
  o.transport = args.String("transport", "shm");
  TPS_ASSIGN_OR_RETURN(int64_t timeout_ms, args.Int("collective-timeout-ms", 30000));
  o.collective_timeout = absl::Milliseconds(timeout_ms);
  return worker::RunFollower(o);
}

}  // namespace tpserve::cli
