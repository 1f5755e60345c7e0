// The tpserve-worker command line (proto/README.md "tpserve-worker flags") → WorkerOptions, by
// the generic parser (ops/base/flags.h). The flags it shares with the tpserve CLI are defined in
// worker/rank_flags.h, those it shares with the coordinator in proto/cluster_flags.h; called from
// main() only.
#ifndef TPSERVE_WORKER_WORKER_FLAGS_H_
#define TPSERVE_WORKER_WORKER_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/worker.h"

namespace tpserve::worker {

// The usage text (--help).
std::string WorkerUsage();

struct ParsedWorkerFlags {
  WorkerOptions options;
  std::string metrics_listen = "127.0.0.1:0";
  bool help = false;
};

// InvalidArgument naming the flag for unknown flags, missing values, bad or out-of-range numbers
// and unreadable files (join token, TLS CA, certificate and key).
absl::StatusOr<ParsedWorkerFlags> ParseWorkerFlags(const std::vector<std::string>& args);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_WORKER_FLAGS_H_
