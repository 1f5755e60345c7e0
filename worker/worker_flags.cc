#include "worker/worker_flags.h"

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "proto/cluster_flags.h"
#include "worker/rank_flags.h"

namespace tpserve::worker {
namespace {

constexpr IntFlag kMaxTokensPerStepFlag{
    .name = "max-tokens-per-step",
    .value_name = "N",
    .help = "tokens per step: decodes first, then prompt chunks; at least --max-slots",
    .default_value = 256,
    .min = 1,
    .max = 1 << 20};
constexpr IntFlag kKvBlocksFlag{
    .name = "kv-blocks",
    .value_name = "N",
    .help = "KV pool in blocks of 16 tokens; 0 = every slot at the full context",
    .default_value = 0,
    .min = 0,
    .max = int64_t{1} << 40};
constexpr IntFlag kDrainTimeoutMsFlag{
    .name = "drain-timeout-ms",
    .value_name = "MS",
    .help = "on SIGTERM, streams still running after this end UNAVAILABLE",
    .default_value = 30000,
    .min = 0,
    .max = int64_t{1} << 40};
constexpr StringFlag kListen = cluster::kListenFlag.WithDefault("127.0.0.1:0");
constexpr StringFlag kMetricsListen = cluster::kMetricsListenFlag.WithDefault("127.0.0.1:0");

const FlagList& Flags() {
  static const FlagList* const flags = new FlagList{kCoordinatorFlag,
                                                    kModelFlag,
                                                    kModelNameFlag,
                                                    kGroupFlag,
                                                    kRankFlag,
                                                    kWorldSizeFlag,
                                                    kListen,
                                                    kMetricsListen,
                                                    kThreadsFlag,
                                                    kTransportFlag,
                                                    kMaxSlotsFlag,
                                                    kMaxContextFlag,
                                                    kKvDTypeFlag,
                                                    kVisionParallelismFlag,
                                                    kMaxTokensPerStepFlag,
                                                    kKvBlocksFlag,
                                                    kCollectiveTimeoutMsFlag,
                                                    kDrainTimeoutMsFlag,
                                                    cluster::kJoinTokenFileFlag,
                                                    cluster::kClusterTlsCaFlag,
                                                    cluster::kClusterTlsCertFlag,
                                                    cluster::kClusterTlsKeyFlag,
                                                    cluster::kPortFileFlag};
  return *flags;
}

}  // namespace

std::string WorkerUsage() {
  return "usage: tpserve-worker --coordinator HOST:PORT [--model DIR] [flags]\n"
         "\n"
         "One rank of one model replica. Rank 0 of a group (the leader) serves Leader.Generate "
         "and\n"
         "runs the continuous-batching scheduler; other ranks follow its step plans.\n"
         "\n" +
         FlagUsage(Flags());
}

absl::StatusOr<ParsedWorkerFlags> ParseWorkerFlags(const std::vector<std::string>& args) {
  TPS_ASSIGN_OR_RETURN(CommandLine cl, CommandLine::Parse(args, Flags()));
  ParsedWorkerFlags out;
  out.help = cl.help();
  if (out.help) return out;
  WorkerOptions& o = out.options;
  TPS_ASSIGN_OR_RETURN(o.coordinator, cl.Required(kCoordinatorFlag));
  o.model_dir = cl.Get(kModelFlag);
  o.model_name = cl.Get(kModelNameFlag);
  o.assigned = cl.Has(kGroupFlag) || cl.Has(kRankFlag) || cl.Has(kWorldSizeFlag);
  o.group = cl.Get(kGroupFlag);
  TPS_ASSIGN_OR_RETURN(o.layout, GetParallelLayout(cl, kWorldSizeFlag, &kRankFlag));
  if (o.assigned && o.model_dir.empty()) {
    return absl::InvalidArgumentError("--model DIR is required with an explicit assignment");
  }
  o.listen = cl.Get(kListen);
  out.metrics_listen = cl.Get(kMetricsListen);
  TPS_RETURN_IF_ERROR(cluster::CheckListenAddress(kListen, o.listen));
  TPS_RETURN_IF_ERROR(cluster::CheckListenAddress(kMetricsListen, out.metrics_listen));
  TPS_ASSIGN_OR_RETURN(const int64_t threads, cl.Get(kThreadsFlag));
  o.threads = static_cast<int>(threads);
  TPS_ASSIGN_OR_RETURN(o.transport, cl.Get(kTransportFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t slots, cl.Get(kMaxSlotsFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t context, cl.Get(kMaxContextFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t step, cl.Get(kMaxTokensPerStepFlag));
  if (step < slots) {
    return absl::InvalidArgumentError(absl::StrCat("--max-tokens-per-step (", step,
                                                   ") must be at least --max-slots (", slots,
                                                   "): every running sequence decodes each step"));
  }
  o.model.max_slots = static_cast<int32_t>(slots);
  o.model.max_context = static_cast<int32_t>(context);
  o.model.max_tokens_per_step = step;
  o.scheduler.token_budget = step;
  TPS_ASSIGN_OR_RETURN(o.model.num_kv_blocks, cl.Get(kKvBlocksFlag));
  TPS_ASSIGN_OR_RETURN(o.model.kv_dtype, cl.Get(kKvDTypeFlag));
  TPS_ASSIGN_OR_RETURN(o.model.vision_parallelism, cl.Get(kVisionParallelismFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t collective_ms, cl.Get(kCollectiveTimeoutMsFlag));
  o.collective_timeout = absl::Milliseconds(collective_ms);
  TPS_ASSIGN_OR_RETURN(const int64_t drain_ms, cl.Get(kDrainTimeoutMsFlag));
  o.drain_timeout = absl::Milliseconds(drain_ms);
  if (cl.Has(cluster::kJoinTokenFileFlag)) {
    TPS_ASSIGN_OR_RETURN(o.join_token,
                         cluster::ReadTokenFlagFile(cluster::kJoinTokenFileFlag,
                                                    cl.Get(cluster::kJoinTokenFileFlag)));
  }
  if (cl.Has(cluster::kClusterTlsCaFlag)) {
    TPS_ASSIGN_OR_RETURN(
        o.tls_ca_pem,
        cluster::ReadPemFlagFile(cluster::kClusterTlsCaFlag, cl.Get(cluster::kClusterTlsCaFlag)));
  }
  o.tls_cert = cl.Get(cluster::kClusterTlsCertFlag);
  o.tls_key = cl.Get(cluster::kClusterTlsKeyFlag);
  TPS_RETURN_IF_ERROR(cluster::CheckTlsFiles(cluster::kClusterTlsCertFlag, o.tls_cert,
                                             cluster::kClusterTlsKeyFlag, o.tls_key));
  o.port_file = cl.Get(cluster::kPortFileFlag);
  return out;
}

}  // namespace tpserve::worker
