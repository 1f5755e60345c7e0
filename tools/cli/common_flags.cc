#include "tools/cli/common_flags.h"

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"

namespace tpserve::cli {

FlagList ModelFlagList(const IntFlag& max_context) {
  return {
      worker::kTpFlag, worker::kTransportFlag, kEngineThreadsFlag, worker::kKvDTypeFlag,
      max_context,     kPrefillChunkFlag,      kDeltaNetChunkFlag, worker::kVisionParallelismFlag};
}

absl::StatusOr<ModelFlags> ParseModelFlags(const CommandLine& cl) {
  ModelFlags f;
  TPS_ASSIGN_OR_RETURN(f.layout, worker::GetParallelLayout(cl, worker::kTpFlag, nullptr));
  TPS_ASSIGN_OR_RETURN(f.transport, cl.Get(worker::kTransportFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t threads, cl.Get(kEngineThreadsFlag));
  f.threads = static_cast<int>(threads);
  TPS_ASSIGN_OR_RETURN(f.prefill_chunk, cl.Get(kPrefillChunkFlag));
  f.options.max_tokens_per_step = f.prefill_chunk;
  TPS_ASSIGN_OR_RETURN(const int64_t max_context, cl.Get(worker::kMaxContextFlag));
  f.options.max_context = static_cast<int32_t>(max_context);
  TPS_ASSIGN_OR_RETURN(f.options.delta_net_chunk_size, cl.Get(kDeltaNetChunkFlag));
  TPS_ASSIGN_OR_RETURN(f.options.kv_dtype, cl.Get(worker::kKvDTypeFlag));
  TPS_ASSIGN_OR_RETURN(f.options.vision_parallelism, cl.Get(worker::kVisionParallelismFlag));
  return f;
}

absl::StatusOr<std::unique_ptr<worker::LocalGroup>> OpenLocalGroup(
    const std::string& model_dir, const ModelFlags& flags, const shard::ModelOptions& options) {
  worker::LocalGroupOptions g;
  g.model_dir = model_dir;
  g.tp_size = flags.layout.tp_size;
  g.model = options;
  g.threads_per_rank = flags.threads;
  g.transport = flags.transport;
  g.follower_command = {"/proc/self/exe", "worker-rank"};
  return worker::LocalGroup::Start(g);
}

FlagList SamplingFlagList(std::string_view default_note) {
  if (default_note.empty()) {
    return {kTemperatureFlag, kTopKFlag, kTopPFlag, kMinPFlag, kRepetitionPenaltyFlag, kSeedFlag};
  }
  return {kTemperatureFlag.WithDefault(kTemperatureFlag.default_value, default_note),
          kTopKFlag.WithDefault(kTopKFlag.default_value, default_note),
          kTopPFlag.WithDefault(kTopPFlag.default_value, default_note),
          kMinPFlag.WithDefault(kMinPFlag.default_value, default_note),
          kRepetitionPenaltyFlag.WithDefault(kRepetitionPenaltyFlag.default_value, default_note),
          kSeedFlag};
}

absl::StatusOr<SamplingFlags> ParseSamplingFlags(const CommandLine& cl) {
  SamplingFlags s;
  for (const auto& [flag, field] :
       {std::pair{&kTemperatureFlag, &s.fields.temperature}, std::pair{&kTopPFlag, &s.fields.top_p},
        std::pair{&kMinPFlag, &s.fields.min_p},
        std::pair{&kRepetitionPenaltyFlag, &s.fields.repetition_penalty}}) {
    if (!cl.Has(*flag)) continue;
    TPS_ASSIGN_OR_RETURN(const double v, cl.Get(*flag));
    *field = static_cast<float>(v);
  }
  if (cl.Has(kTopKFlag)) {
    TPS_ASSIGN_OR_RETURN(const int64_t k, cl.Get(kTopKFlag));
    s.fields.top_k = static_cast<int32_t>(k);
  }
  if (cl.Has(kSeedFlag)) {
    TPS_ASSIGN_OR_RETURN(const int64_t seed, cl.Get(kSeedFlag));
    s.seed = static_cast<uint64_t>(seed);
  }
  return s;
}

}  // namespace tpserve::cli
