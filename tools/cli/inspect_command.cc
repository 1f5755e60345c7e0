// tpserve inspect: architecture and memory needs of a model directory (config.json only).
#include <cstdio>
#include <iostream>

#include "model/memory_estimate.h"
#include "model/model_spec.h"
#include "ops/base/status_macros.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/model/inspect.h"

namespace tpserve::cli {

absl::Status RunInspect(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(
      Args args, Args::Parse(argv, {"model", "weight-dtype", "kv-dtype", "sequences", "tokens"},
                             {"json", "help"}));
  if (args.Bool("help")) {
    std::fputs(
        "usage: tpserve inspect --model DIR [--json] [--weight-dtype bf16|f32|f16]\n"
        "                       [--kv-dtype bf16|f32] [--sequences N] [--tokens T]\n"
        "Prints the architecture and the memory one replica needs: weights, KV cache per token,\n"
        "DeltaNet state per sequence, and a replica serving N sequences of T tokens.\n",
        stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string dir, args.Required("model"));
  TPS_ASSIGN_OR_RETURN(model::Qwen35Spec spec, model::LoadQwen35Config(dir));
  auto dtype_flag = [&](const std::string& name, DType fallback) -> absl::StatusOr<DType> {
    if (!args.Has(name)) return fallback;
    std::optional<DType> d = model::ConfigDTypeToDType(args.String(name, ""));
    if (!d.has_value()) {
      return absl::InvalidArgumentError("--" + name + " must be bf16, f16 or f32, got '" +
                                        args.String(name, "") + "'");
    }
    return *d;
  };
  const DType stored = model::ConfigDTypeToDType(spec.text.dtype).value_or(DType::kBF16);
  TPS_ASSIGN_OR_RETURN(DType weight_dtype, dtype_flag("weight-dtype", stored));
  TPS_ASSIGN_OR_RETURN(DType kv_dtype, dtype_flag("kv-dtype", DType::kBF16));
  tools::InspectOptions options;
  options.model_dir = dir;
  TPS_ASSIGN_OR_RETURN(options.num_sequences, args.Int("sequences", options.num_sequences));
  TPS_ASSIGN_OR_RETURN(options.tokens_per_sequence,
                       args.Int("tokens", options.tokens_per_sequence));
  if (options.num_sequences <= 0 || options.tokens_per_sequence <= 0) {
    return absl::InvalidArgumentError("--sequences and --tokens must be > 0");
  }
  const model::MemoryEstimate estimate = model::EstimateMemory(spec, weight_dtype, kv_dtype);
  std::cout << (args.Bool("json") ? tools::FormatInspectJson(spec, estimate, options)
                                  : tools::FormatInspectReport(spec, estimate, options));
  return absl::OkStatus();
}

}  // namespace tpserve::cli
