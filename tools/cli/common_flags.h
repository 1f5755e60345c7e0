// Flags several tpserve commands share. Those a command shares with tpserve-worker (--tp,
// --threads, --transport, --max-context, --kv-dtype, --vision-parallelism, ...) are defined in
// worker/rank_flags.h; the CLI's own shared ones (the engine's chunk sizes, sampling) here.
#ifndef TPSERVE_TOOLS_CLI_COMMON_FLAGS_H_
#define TPSERVE_TOOLS_CLI_COMMON_FLAGS_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/parallel_layout.h"
#include "ops/base/flags.h"
#include "ops/base/sampling_bounds.h"
#include "shard/qwen35_model.h"
#include "worker/group_comm.h"
#include "worker/local_group.h"
#include "worker/rank_flags.h"

namespace tpserve::cli {

// The engine commands (generate, bench) run one process on all cores by default.
inline constexpr IntFlag kEngineThreadsFlag =
    worker::kThreadsFlag.WithDefault(0, "all cores; 1 per rank with --tp");
inline constexpr IntFlag kPrefillChunkFlag{.name = "prefill-chunk",
                                           .value_name = "N",
                                           .help = "prompt tokens per step",
                                           .default_value = 512,
                                           .min = 1};
inline constexpr IntFlag kDeltaNetChunkFlag{
    .name = "delta-net-chunk",
    .value_name = "N",
    .help = "chunk size of the delta rule in prefill; 0 = token-by-token recurrence",
    .default_value = 64,
    .min = 0};

// The flags of a command that runs a model here (generate, bench); `max_context` is
// worker::kMaxContextFlag with the command's own default note.
FlagList ModelFlagList(const IntFlag& max_context);

struct ModelFlags {
  model::ParallelLayout layout;  // --tp; this process is rank 0
  worker::Transport transport = worker::Transport::kShm;
  int threads = 0;
  int64_t prefill_chunk = 512;
  shard::ModelOptions options;
};

absl::StatusOr<ModelFlags> ParseModelFlags(const CommandLine& cl);

// The replica the engine commands run on: this process alone (--tp 1) or a local group of --tp
// processes whose followers are this binary's `worker-rank`.
absl::StatusOr<std::unique_ptr<worker::LocalGroup>> OpenLocalGroup(
    const std::string& model_dir, const ModelFlags& flags, const shard::ModelOptions& options);

// Tokens to generate (generate: default 16; chat: WithDefault(512)); no more than a sequence holds.
inline constexpr IntFlag kMaxTokensFlag{.name = "max-tokens",
                                        .value_name = "N",
                                        .help = "tokens to generate",
                                        .default_value = 16,
                                        .min = 1,
                                        .max = worker::kMaxContextFlag.max};

// Sampling (generate, chat). The bounds are the sampler's (ops/base/sampling_bounds.h), checked
// where the values are used; the flags only read numbers.
inline constexpr DoubleFlag kTemperatureFlag{
    .name = "temperature", .value_name = "T", .help = "0 = greedy", .default_value = 0};
inline constexpr IntFlag kTopKFlag{.name = "top-k",
                                   .value_name = "K",
                                   .help = "sample from the K most likely tokens; 0 = off",
                                   .default_value = 0,
                                   .min = std::numeric_limits<int32_t>::min(),
                                   .max = std::numeric_limits<int32_t>::max()};
inline constexpr DoubleFlag kTopPFlag{
    .name = "top-p",
    .value_name = "P",
    .help = "sample from the most likely tokens holding this much probability; 1 = off",
    .default_value = 1};
inline constexpr DoubleFlag kMinPFlag{
    .name = "min-p",
    .value_name = "P",
    .help = "drop tokens less likely than P x the most likely one; 0 = off",
    .default_value = 0};
inline constexpr DoubleFlag kRepetitionPenaltyFlag{
    .name = "repetition-penalty",
    .value_name = "R",
    .help = "penalize the tokens of the prompt and the output so far; 1 = off",
    .default_value = 1};
inline constexpr IntFlag kSeedFlag{
    .name = "seed", .value_name = "S", .help = "same seed, same tokens", .default_note = "random"};

// The sampling flags; with a `default_note` (chat: "the model's") the usage shows it for every
// default.
FlagList SamplingFlagList(std::string_view default_note = {});

// The sampling flags given (the others stay unset).
struct SamplingFlags {
  SamplingFields fields;
  std::optional<uint64_t> seed;
};
absl::StatusOr<SamplingFlags> ParseSamplingFlags(const CommandLine& cl);

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_COMMON_FLAGS_H_
