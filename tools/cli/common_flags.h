// Flags shared by the commands that load a model (generate, bench).
#ifndef TPSERVE_TOOLS_CLI_COMMON_FLAGS_H_
#define TPSERVE_TOOLS_CLI_COMMON_FLAGS_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "shard/qwen35_model.h"
#include "tools/cli/args.h"
#include "worker/group_comm.h"
#include "worker/local_group.h"

namespace tpserve::cli {

#define COMMON_MODEL_FLAGS_HELP                                                                  \
  "  --tp N                   shard the model over N local processes (default 1)\n"              \
  "  --transport shm|gloo     collectives between those processes (default shm)\n"               \
  "  --threads N              CPU threads (default: all cores; per rank with --tp: 1)\n"         \
  "  --kv-dtype f32|bf16      KV cache dtype (default: the checkpoint's dtype)\n"                \
  "  --max-context N          tokens per sequence (default: what the command needs)\n"           \
  "  --prefill-chunk N        prompt tokens per step (default 512)\n"                            \
  "  --delta-net-chunk N      chunk size of the delta rule in prefill; 0 = recurrence (default " \
  "64)\n"                                                                                        \
  "  --vision-parallelism auto|tensor|data  vision tower across --tp ranks: split (tensor) or\n" \
  "                           whole on every rank, images spread (data); auto = tensor when\n"   \
  "                           the heads divide (default auto)\n"

inline const std::set<std::string> kCommonModelValueFlags = {
    "tp",          "transport",     "threads",         "kv-dtype",
    "max-context", "prefill-chunk", "delta-net-chunk", "vision-parallelism"};

struct ModelFlags {
  int tp = 1;
  worker::Transport transport = worker::Transport::kShm;
  int threads = 0;
  int64_t prefill_chunk = 512;
  shard::ModelOptions options;
};

absl::StatusOr<ModelFlags> ParseModelFlags(const Args& args);

// The replica the engine commands run on: this process alone (--tp 1) or a local group of --tp
// processes whose followers are this binary's `worker-rank`.
absl::StatusOr<std::unique_ptr<worker::LocalGroup>> OpenLocalGroup(
    const std::string& model_dir, const ModelFlags& flags, const shard::ModelOptions& options);

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_COMMON_FLAGS_H_
