// tpserve make-random-model: a random-weight Qwen3.5 checkpoint of a published shape, for
// benchmarks and for machines that cannot download real weights. Its output is noise.
#include <chrono>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/model_spec.h"
#include "nlohmann/json.hpp"
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "tools/cli/commands.h"
#include "tools/cli/default_model.h"
#include "tools/model/random_model.h"

namespace tpserve::cli {

extern const unsigned char kQwen35StyleTokenizerJson[];
extern const std::size_t kQwen35StyleTokenizerJsonSize;

namespace {

absl::Status WriteFile(const std::string& path, const char* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

// The companion files a served model directory needs besides the weights: the tokenizer (the
// embedded Qwen3.5-style one: real special tokens at their real ids, a small BPE vocabulary) and
// generation_config.json with Qwen3.5's end-of-turn ids (spec §1.6).
absl::Status WriteRandomModelCompanions(const std::string& dir) {
  // The embedded vocabulary has a few thousand BPE tokens below the special ids (248044+). Every
  // id a random model can emit must decode, so the gap is filled with placeholder words
  // (" w12345") that no merge produces: encoding is unchanged, decoding is total.
  nlohmann::json tok = nlohmann::json::parse(
      std::string_view(reinterpret_cast<const char*>(kQwen35StyleTokenizerJson),
                       kQwen35StyleTokenizerJsonSize),
      nullptr, /*allow_exceptions=*/false);
  if (tok.is_discarded() || !tok.contains("model") || !tok["model"].contains("vocab")) {
    return absl::InternalError("embedded tokenizer.json is malformed");
  }
  nlohmann::json& vocab = tok["model"]["vocab"];
  std::vector<bool> used(248044, false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const int64_t id = it.value().get<int64_t>();
    if (id >= 0 && id < 248044) used[static_cast<size_t>(id)] = true;
  }
  for (int64_t id = 0; id < 248044; ++id) {
    if (!used[static_cast<size_t>(id)]) vocab[absl::StrCat("\u0120w", id)] = id;
  }
  const std::string text = tok.dump();
  TPS_RETURN_IF_ERROR(WriteFile(dir + "/tokenizer.json", text.data(), text.size()));
  const std::string gen =
      "{\n  \"bos_token_id\": 248044,\n  \"eos_token_id\": [248046, 248044],\n"
      "  \"pad_token_id\": 248044\n}\n";
  return WriteFile(dir + "/generation_config.json", gen.data(), gen.size());
}

absl::Status RunMakeRandomModel(const std::vector<std::string>& argv) {
  const StringFlag out_flag{.name = "out", .value_name = "DIR", .help = "the model directory"};
  const StringFlag preset_flag{.name = "preset",
                               .value_name = "P",
                               .help = "a published size (see above) or tiny",
                               .default_value = "0.8b"};
  const StringFlag dtype_flag{.name = "dtype",
                              .value_name = "bf16|f16|f32",
                              .help = "the weights' dtype",
                              .default_value = "bf16"};
  const IntFlag seed_flag{
      .name = "seed", .value_name = "S", .help = "seed of the random weights", .default_value = 0};
  const BoolFlag no_vision_flag{.name = "no-vision", .help = "leave the vision tower out"};
  const IntFlag shard_mb_flag{.name = "shard-mb",
                              .value_name = "MB",
                              .help = "split the weights into files of about MB; 0 = one file",
                              .default_value = 0,
                              .min = 0,
                              .max = 1 << 30};
  const BoolFlag no_tokenizer_flag{.name = "no-tokenizer",
                                   .help = "write no tokenizer.json and generation_config.json"};
  const FlagList flags = {out_flag,       preset_flag,   dtype_flag,       seed_flag,
                          no_vision_flag, shard_mb_flag, no_tokenizer_flag};
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, flags));
  const std::string presets = absl::StrJoin(model::Qwen35PresetNames(), ", ");
  if (args.help()) {
    std::printf(
        "usage: tpserve make-random-model --out DIR [flags]\n"
        "Writes config.json and random weights with the exact tensor names and shapes of a\n"
        "published Qwen3.5 size (presets: %s; and \"tiny\", the real vocabulary on a 64-wide\n"
        "4-layer body), plus a tokenizer.json (a small Qwen3.5-style vocabulary with the real\n"
        "special tokens) and generation_config.json. Outputs of such a model are noise.\n\n%s",
        presets.c_str(), FlagUsage(flags).c_str());
    return absl::OkStatus();
  }
  tools::RandomModelOptions options;
  TPS_ASSIGN_OR_RETURN(options.output_dir, args.Required(out_flag));
  options.preset = args.Get(preset_flag);
  const std::string dtype = args.Get(dtype_flag);
  std::optional<DType> d = model::ConfigDTypeToDType(dtype);
  if (!d.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dtype must be bf16, f16 or f32, got ", EchoValue(dtype)));
  }
  options.weight_dtype = *d;
  TPS_ASSIGN_OR_RETURN(const int64_t seed, args.Get(seed_flag));
  options.seed = static_cast<uint64_t>(seed);
  options.include_vision = !args.Get(no_vision_flag);
  TPS_ASSIGN_OR_RETURN(const int64_t shard_mb, args.Get(shard_mb_flag));
  options.max_shard_bytes = static_cast<size_t>(shard_mb) << 20;

  TPS_ASSIGN_OR_RETURN(tools::RandomModelPlan plan, tools::PlanRandomQwen35Model(options));
  const auto start = std::chrono::steady_clock::now();
  TPS_RETURN_IF_ERROR(tools::WriteRandomQwen35Model(options));
  if (!args.Get(no_tokenizer_flag))
    TPS_RETURN_IF_ERROR(WriteRandomModelCompanions(options.output_dir));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "wrote %s: preset %s, %.3f B params, %.2f GB in %zu file(s), %.1f s (random weights)\n",
      options.output_dir.c_str(), options.preset.c_str(),
      static_cast<double>(plan.total_params()) / 1e9, static_cast<double>(plan.total_bytes()) / 1e9,
      plan.files.size(), secs);
  return absl::OkStatus();
}

}  // namespace tpserve::cli
