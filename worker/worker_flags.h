// The tpserve-worker command line (proto/README.md "tpserve-worker flags") → WorkerOptions.
// Flags are `--name value` or `--name=value`; called from main() only.
#ifndef TPSERVE_WORKER_WORKER_FLAGS_H_
#define TPSERVE_WORKER_WORKER_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/worker.h"

namespace tpserve::worker {

extern const char kWorkerUsage[];

struct ParsedWorkerFlags {
  WorkerOptions options;
  std::string metrics_listen = "127.0.0.1:0";
  bool help = false;
};

// InvalidArgument naming the flag for unknown flags, missing values, bad numbers and unreadable
// files (join token, TLS CA).
absl::StatusOr<ParsedWorkerFlags> ParseWorkerFlags(const std::vector<std::string>& args);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_WORKER_FLAGS_H_
