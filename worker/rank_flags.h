// The flags of a model replica's rank that tpserve-worker and the tpserve CLI (generate, bench, up,
// worker-rank) both take, each defined once: name, value, help line, default and bounds (the
// generic parser: ops/base/flags.h). A command whose default differs (the CLI runs all cores by
// default, `up` divides the cores among its ranks) says so with WithDefault; the bounds stay here.
// The cluster-wide flags the worker shares with the coordinator (--listen, --join-token-file,
// --cluster-tls-*, ...) are proto/cluster_flags.h.
//
// Values are passed down typed: Transport, std::optional<DType> for the KV cache,
// shard::VisionParallelism, and model::ParallelLayout for the group size and rank, whose bound is
// model::kMaxTensorParallel (ParallelLayout::Validate).
#ifndef TPSERVE_WORKER_RANK_FLAGS_H_
#define TPSERVE_WORKER_RANK_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/parallel_layout.h"
#include "ops/base/dtype.h"
#include "ops/base/flags.h"
#include "shard/qwen35_model.h"
#include "worker/group_comm.h"

namespace tpserve::worker {

// "f32" / "bf16"; "" (the default) is none: the checkpoint's dtype. InvalidArgument naming `flag`
// otherwise.
absl::StatusOr<std::optional<DType>> ParseKvDType(std::string_view text, std::string_view flag);

inline constexpr StringFlag kModelFlag{
    .name = "model",
    .value_name = "DIR",
    .help = "Hugging Face model directory (config.json, *.safetensors; tokenizer.json for text)"};
inline constexpr StringFlag kModelNameFlag{.name = "model-name",
                                           .value_name = "NAME",
                                           .help = "the name the model is served as",
                                           .default_note = "the directory's base name"};
inline constexpr IntFlag kThreadsFlag{.name = "threads",
                                      .value_name = "N",
                                      .help = "CPU threads per rank; 0 = all cores",
                                      .default_value = 1,
                                      .min = 0,
                                      .max = 1024};
inline constexpr ChoiceFlag<Transport> kTransportFlag{
    .name = "transport",
    .value_name = "shm|gloo",
    .help = "collectives between the ranks of a replica: shared memory (one host) or Gloo over TCP",
    .default_value = "shm",
    .parse = &ParseTransport};
inline constexpr IntFlag kMaxSlotsFlag{.name = "max-slots",
                                       .value_name = "N",
                                       .help = "concurrent sequences per replica",
                                       .default_value = 8,
                                       .min = 1,
                                       .max = 4096};
// [1, 2^24]: every context the model can hold (SequenceMemory takes any length >= 1) up to far
// beyond Qwen3.5's 262144, with block counts (max-slots x context / 16) far from overflowing.
inline constexpr IntFlag kMaxContextFlag{.name = "max-context",
                                         .value_name = "N",
                                         .help = "tokens per sequence (prompt and output)",
                                         .default_value = 4096,
                                         .min = 1,
                                         .max = int64_t{1} << 24};
inline constexpr ChoiceFlag<std::optional<DType>> kKvDTypeFlag{.name = "kv-dtype",
                                                               .value_name = "f32|bf16",
                                                               .help = "KV cache dtype",
                                                               .default_value = "",
                                                               .parse = &ParseKvDType,
                                                               .default_note = "the checkpoint's"};
inline constexpr ChoiceFlag<shard::VisionParallelism> kVisionParallelismFlag{
    .name = "vision-parallelism",
    .value_name = "auto|tensor|data",
    .help =
        "the vision tower across the ranks of a replica: split by heads (tensor) or whole on "
        "every rank with the images spread (data); auto = tensor when the heads divide",
    .default_value = "auto",
    .parse = &shard::ParseVisionParallelism};
inline constexpr IntFlag kCollectiveTimeoutMsFlag{
    .name = "collective-timeout-ms",
    .value_name = "MS",
    .help = "a collective waiting longer fails the group",
    .default_value = 30000,
    .min = 1,
    .max = int64_t{1} << 40};

// The group size: --world-size on tpserve-worker and `tpserve worker-rank`, --tp on the CLI's
// engine commands and `up`. One bound, model::kMaxTensorParallel; the rank's follows from it.
inline constexpr IntFlag kWorldSizeFlag{.name = "world-size",
                                        .value_name = "N",
                                        .help = "ranks in this rank's group (tensor parallel)",
                                        .default_value = 1,
                                        .min = 1,
                                        .max = model::kMaxTensorParallel};
inline constexpr IntFlag kTpFlag{
    .name = "tp",
    .value_name = "N",
    .help = "ranks per replica (tensor parallel), one process each on this host",
    .default_value = 1,
    .min = kWorldSizeFlag.min,
    .max = kWorldSizeFlag.max};
inline constexpr IntFlag kRankFlag{.name = "rank",
                                   .value_name = "R",
                                   .help = "this process's rank in its group (0: the leader)",
                                   .default_value = 0,
                                   .min = 0,
                                   .max = kWorldSizeFlag.max - 1};
// A local group's rendezvous directory (worker::LocalGroup passes it to `tpserve worker-rank`).
inline constexpr StringFlag kStoreFlag{
    .name = "store", .value_name = "DIR", .help = "the group's rendezvous directory (a FileStore)"};

// tpserve-worker's own assignment flags, here because `tpserve up` passes them on.
inline constexpr StringFlag kCoordinatorFlag{.name = "coordinator",
                                             .value_name = "HOST:PORT",
                                             .help = "the coordinator's cluster API (required)"};
inline constexpr StringFlag kGroupFlag{
    .name = "group",
    .value_name = "G",
    .help =
        "explicit assignment (a LeaderWorkerSet / StatefulSet ordinal) with --rank and "
        "--world-size; without any of them the coordinator places the worker (one rank)",
    .default_value = "0"};

// The layout the group-size flag (kWorldSizeFlag or kTpFlag) and, unless null, `rank_flag` give
// (rank 0 without one), checked by ParallelLayout::Validate with an error naming the flags.
absl::StatusOr<model::ParallelLayout> GetParallelLayout(const CommandLine& cl,
                                                        const IntFlag& size_flag,
                                                        const IntFlag* rank_flag);

// The served name of a model directory when --model-name is not given: its base name
// ("/models/Qwen3.5-0.8B/" -> "Qwen3.5-0.8B").
std::string DefaultModelName(const std::string& model_dir);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_RANK_FLAGS_H_
