#include "tools/cli/common_flags.h"

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"

namespace tpserve::cli {

absl::StatusOr<ModelFlags> ParseModelFlags(const Args& args) {
  ModelFlags f;
  TPS_ASSIGN_OR_RETURN(int64_t threads, args.Int("threads", 0));
  if (threads < 0 || threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads must be in [0, 1024], got ", threads));
  }
  f.threads = static_cast<int>(threads);
  TPS_ASSIGN_OR_RETURN(int64_t tp, args.Int("tp", 1));
  if (tp < 1 || tp > 64)
    return absl::InvalidArgumentError(absl::StrCat("--tp must be in [1, 64], got ", tp));
  f.tp = static_cast<int>(tp);
  TPS_ASSIGN_OR_RETURN(f.transport,
                       worker::ParseTransport(args.String("transport", "shm"), "--transport"));
  TPS_ASSIGN_OR_RETURN(f.prefill_chunk, args.Int("prefill-chunk", 512));
  if (f.prefill_chunk <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--prefill-chunk must be > 0, got ", f.prefill_chunk));
  }
  f.options.max_tokens_per_step = f.prefill_chunk;
  TPS_ASSIGN_OR_RETURN(int64_t max_context, args.Int("max-context", 4096));
  if (max_context <= 0 || max_context > (1 << 30)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-context must be in [1, 2^30], got ", max_context));
  }
  f.options.max_context = static_cast<int32_t>(max_context);
  TPS_ASSIGN_OR_RETURN(f.options.delta_net_chunk_size, args.Int("delta-net-chunk", 64));
  if (f.options.delta_net_chunk_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--delta-net-chunk must be >= 0, got ", f.options.delta_net_chunk_size));
  }
  const std::string kv = args.String("kv-dtype", "");
  if (kv == "f32") {
    f.options.kv_dtype = DType::kF32;
  } else if (kv == "bf16") {
    f.options.kv_dtype = DType::kBF16;
  } else if (!kv.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--kv-dtype must be f32 or bf16, got '", kv, "'"));
  }
  TPS_ASSIGN_OR_RETURN(f.options.vision_parallelism,
                       shard::ParseVisionParallelism(args.String("vision-parallelism", "auto"),
                                                     "--vision-parallelism"));
  return f;
}

absl::StatusOr<std::unique_ptr<worker::LocalGroup>> OpenLocalGroup(
    const std::string& model_dir, const ModelFlags& flags, const shard::ModelOptions& options) {
  worker::LocalGroupOptions g;
  g.model_dir = model_dir;
  g.tp_size = flags.tp;
  g.model = options;
  g.threads_per_rank = flags.threads;
  g.transport = flags.transport;
  g.follower_command = {"/proc/self/exe", "worker-rank"};
  return worker::LocalGroup::Start(g);
}

}  // namespace tpserve::cli
