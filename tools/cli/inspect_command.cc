// tpserve inspect: architecture and memory needs of a model directory (config.json only).
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "model/checkpoint.h"
#include "model/kv_dtype.h"
#include "model/memory_estimate.h"
#include "model/model_spec.h"
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "tools/cli/commands.h"
#include "tools/model/inspect.h"
#include "worker/rank_flags.h"

namespace tpserve::cli {
namespace {

constexpr StringFlag kWeightDTypeFlag{.name = "weight-dtype",
                                      .value_name = "bf16|f32|f16",
                                      .help = "the weights' dtype",
                                      .default_note = "the checkpoint's"};
// Not worker::kKvDTypeFlag: this estimate takes f16 too. Its default is the engine's
// (model::ResolveKvDType), for the weight dtype the estimate uses.
constexpr StringFlag kInspectKvDTypeFlag{
    .name = "kv-dtype",
    .value_name = "bf16|f32|f16",
    .help = "the KV cache's dtype",
    .default_note = "what generate and the workers use: f32 for f32 weights, else bf16"};
const IntFlag kSequencesFlag{.name = "sequences",
                             .value_name = "N",
                             .help = "sequences the replica serves at once",
                             .default_value = tools::InspectOptions().num_sequences,
                             .min = 1,
                             .max = 1 << 20};
const IntFlag kTokensFlag{.name = "tokens",
                          .value_name = "T",
                          .help = "tokens per sequence",
                          .default_value = tools::InspectOptions().tokens_per_sequence,
                          .min = 1,
                          .max = worker::kMaxContextFlag.max};
constexpr BoolFlag kJsonFlag{.name = "json", .help = "print the report as JSON"};

// The weights' dtype as a rank will load it (the token embedding's, shard/weight_loader.cc) when
// the directory holds the weights; else what config.json says.
DType StoredWeightDType(const std::string& dir, const model::Qwen35Spec& spec) {
  if (absl::StatusOr<std::unique_ptr<model::Checkpoint>> ckpt = model::Checkpoint::Open(dir);
      ckpt.ok()) {
    absl::StatusOr<model::TensorInfo> embed =
        (*ckpt)->Find(model::TextWeightPrefix(spec) + "embed_tokens.weight");
    if (embed.ok() && embed->dtype.has_value()) return *embed->dtype;
  }
  return model::ConfigDTypeToDType(spec.text.dtype).value_or(DType::kBF16);
}

absl::StatusOr<std::optional<DType>> DTypeFlag(const CommandLine& args, const StringFlag& flag) {
  if (!args.Has(flag)) return std::nullopt;
  const std::string value = args.Get(flag);
  std::optional<DType> d = model::ConfigDTypeToDType(value);
  if (!d.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(FlagName(flag.name), " must be bf16, f16 or f32, got ", EchoValue(value)));
  }
  return *d;
}

}  // namespace

absl::Status RunInspect(const std::vector<std::string>& argv) {
  const FlagList flags = {worker::kModelFlag,  kJsonFlag,      kWeightDTypeFlag,
                          kInspectKvDTypeFlag, kSequencesFlag, kTokensFlag};
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, flags));
  if (args.help()) {
    std::fputs(absl::StrCat(
                   "usage: tpserve inspect --model DIR [flags]\n"
                   "Prints the architecture and the memory one replica needs: weights, KV cache "
                   "per token,\nDeltaNet state per sequence, and a replica serving N sequences of "
                   "T tokens.\n\n",
                   FlagUsage(flags))
                   .c_str(),
               stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string dir, args.Required(worker::kModelFlag));
  TPS_ASSIGN_OR_RETURN(model::Qwen35Spec spec, model::LoadQwen35Config(dir));
  TPS_ASSIGN_OR_RETURN(const std::optional<DType> weight_flag, DTypeFlag(args, kWeightDTypeFlag));
  const DType weight_dtype = weight_flag.value_or(StoredWeightDType(dir, spec));
  TPS_ASSIGN_OR_RETURN(const std::optional<DType> kv_flag, DTypeFlag(args, kInspectKvDTypeFlag));
  const DType kv_dtype = model::ResolveKvDType(kv_flag, weight_dtype);
  tools::InspectOptions options;
  options.model_dir = dir;
  TPS_ASSIGN_OR_RETURN(options.num_sequences, args.Get(kSequencesFlag));
  TPS_ASSIGN_OR_RETURN(options.tokens_per_sequence, args.Get(kTokensFlag));
  const model::MemoryEstimate estimate = model::EstimateMemory(spec, weight_dtype, kv_dtype);
  std::cout << (args.Get(kJsonFlag) ? tools::FormatInspectJson(spec, estimate, options)
                                    : tools::FormatInspectReport(spec, estimate, options));
  return absl::OkStatus();
}

}  // namespace tpserve::cli
