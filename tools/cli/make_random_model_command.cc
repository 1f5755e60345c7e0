// tpserve make-random-model: a random-weight Qwen3.5 checkpoint of a published shape, for
// benchmarks and for machines that cannot download real weights. Its output is noise.
#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ops/base/status_macros.h"
#include "shard/model_spec.h"
#include "shard/random_model.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace tpserve::cli {

absl::Status RunMakeRandomModel(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"out", "preset", "dtype", "seed", "shard-mb"},
                                              {"no-vision", "help"}));
  const std::string presets = absl::StrJoin(shard::Qwen35PresetNames(), ", ");
  if (args.Bool("help")) {
    std::printf(
        "usage: tpserve make-random-model --out DIR [--preset 0.8b] [--dtype bf16|f16|f32]\n"
        "                                 [--seed S] [--no-vision] [--shard-mb MB]\n"
        "Writes config.json and random weights with the exact tensor names and shapes of a\n"
        "published Qwen3.5 size (presets: %s). Outputs of such a model are noise.\n",
        presets.c_str());
    return absl::OkStatus();
  }
  shard::RandomModelOptions options;
  TPS_ASSIGN_OR_RETURN(options.output_dir, args.Required("out"));
  options.preset = args.String("preset", "0.8b");
  const std::string dtype = args.String("dtype", "bf16");
  std::optional<DType> d = shard::ConfigDTypeToDType(dtype);
  if (!d.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("--dtype must be bf16, f16 or f32, got '", dtype, "'"));
  }
  options.weight_dtype = *d;
  TPS_ASSIGN_OR_RETURN(int64_t seed, args.Int("seed", 0));
  options.seed = static_cast<uint64_t>(seed);
  options.include_vision = !args.Bool("no-vision");
  TPS_ASSIGN_OR_RETURN(int64_t shard_mb, args.Int("shard-mb", 0));
  if (shard_mb < 0) return absl::InvalidArgumentError("--shard-mb must be >= 0");
  options.max_shard_bytes = static_cast<size_t>(shard_mb) << 20;

  TPS_ASSIGN_OR_RETURN(shard::RandomModelPlan plan, shard::PlanRandomQwen35Model(options));
  const auto start = std::chrono::steady_clock::now();
  TPS_RETURN_IF_ERROR(shard::WriteRandomQwen35Model(options));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s: preset %s, %.3f B params, %.2f GB in %zu file(s), %.1f s (random weights)\n",
              options.output_dir.c_str(), options.preset.c_str(),
              static_cast<double>(plan.total_params()) / 1e9,
              static_cast<double>(plan.total_bytes()) / 1e9, plan.files.size(), secs);
  return absl::OkStatus();
}

}  // namespace tpserve::cli
