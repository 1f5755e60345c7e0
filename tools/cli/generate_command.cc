// tpserve generate: load a model, run one prompt of token ids, print the generated ids.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "ops/base/npy.h"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"
#include "shard/generator.h"
#include "shard/model_loader.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"

namespace tpserve::cli {
namespace {

constexpr char kHelp[] =
    "usage: tpserve generate --model DIR --prompt-ids 1,2,3 [flags]\n"
    "\n"
    "  --model DIR              Hugging Face model directory (config.json + *.safetensors)\n"
    "  --prompt-ids IDS         comma-separated prompt token ids\n"
    "  --max-tokens N           tokens to generate (default 16)\n"
    "  --temperature T          0 = greedy (default 0)\n"
    "  --top-k K --top-p P --min-p P --repetition-penalty R --seed S\n"
    "  --ignore-eos             do not stop at the model's end-of-sequence ids\n"
    "  --logits-out FILE.npy    write float32 logits of every computed position [positions, vocab]\n"
    "  --json                   print {\"tokens\": [...], \"prefill_ms\": ..., ...}\n" COMMON_MODEL_FLAGS_HELP;

}  // namespace

absl::Status RunGenerate(const std::vector<std::string>& argv) {
  std::set<std::string> value_flags = {"model",  "prompt-ids", "max-tokens", "temperature",
                                       "top-k",  "top-p",      "min-p",      "repetition-penalty",
                                       "seed",   "logits-out"};
  value_flags.insert(kCommonModelValueFlags.begin(), kCommonModelValueFlags.end());
  TPS_ASSIGN_OR_RETURN(Args args,
                       Args::Parse(argv, value_flags, {"json", "ignore-eos", "help"}));
  if (args.Bool("help")) {
    std::fputs(kHelp, stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string model_dir, args.Required("model"));
  TPS_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, args.IntList("prompt-ids"));
  if (prompt.empty()) {
    return absl::InvalidArgumentError("--prompt-ids: needs at least one token id (e.g. 1,2,3)");
  }
  TPS_ASSIGN_OR_RETURN(int64_t max_tokens, args.Int("max-tokens", 16));
  if (max_tokens <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--max-tokens must be > 0, got ", max_tokens));
  }
  shard::SamplingParams sampling;
  TPS_ASSIGN_OR_RETURN(double temperature, args.Double("temperature", 0.0));
  TPS_ASSIGN_OR_RETURN(int64_t top_k, args.Int("top-k", 0));
  TPS_ASSIGN_OR_RETURN(double top_p, args.Double("top-p", 1.0));
  TPS_ASSIGN_OR_RETURN(double min_p, args.Double("min-p", 0.0));
  TPS_ASSIGN_OR_RETURN(double rep, args.Double("repetition-penalty", 1.0));
  sampling.temperature = static_cast<float>(temperature);
  sampling.top_k = static_cast<int32_t>(top_k);
  sampling.top_p = static_cast<float>(top_p);
  sampling.min_p = static_cast<float>(min_p);
  sampling.repetition_penalty = static_cast<float>(rep);
  if (args.Has("seed")) {
    TPS_ASSIGN_OR_RETURN(int64_t seed, args.Int("seed", 0));
    sampling.seed = static_cast<uint64_t>(seed);
  }
  TPS_RETURN_IF_ERROR_CTX(sampling.Validate(), "sampling");

  const std::string logits_out = args.String("logits-out", "");
  TPS_ASSIGN_OR_RETURN(ModelFlags flags, ParseModelFlags(args));
  shard::ModelOptions options = flags.options;
  options.max_slots = 1;
  if (!args.Has("max-context")) {
    options.max_context = static_cast<int32_t>(static_cast<int64_t>(prompt.size()) + max_tokens);
  }
  shard::GeneratorOptions gen;
  gen.prefill_chunk = flags.prefill_chunk;
  if (!logits_out.empty()) {
    // Every prompt position's logits: keep a chunk's rows small (the vocabulary can be 248k wide).
    if (!args.Has("prefill-chunk")) gen.prefill_chunk = 64;
    gen.all_logits = true;
    options.max_logit_rows = gen.prefill_chunk;
  }
  options.max_tokens_per_step = std::min<int64_t>(options.max_tokens_per_step,
                                                  std::max<int64_t>(gen.prefill_chunk, 1));

  TPS_ASSIGN_OR_RETURN(std::unique_ptr<ops::Backend> backend,
                       ops::CreateBackend({.kind = ops::DeviceKind::kCpu, .cpu_threads = flags.threads}));
  TPS_ASSIGN_OR_RETURN(shard::LoadedModel loaded,
                       shard::LoadQwen35Model(model_dir, *backend, shard::ParallelLayout{}, options));
  if (loaded.spec.random_weights) {
    std::fprintf(stderr, "tpserve: note: %s has RANDOM weights (made by make-random-model); its "
                         "output is noise\n", model_dir.c_str());
  }

  shard::GenerationRequest request;
  request.prompt = prompt;
  request.max_new_tokens = static_cast<int32_t>(max_tokens);
  request.sampling = sampling;
  if (!args.Bool("ignore-eos")) request.stop_token_ids = loaded.stop_token_ids;

  NpyWriter npy;
  absl::Status write_status;
  if (!logits_out.empty()) {
    TPS_RETURN_IF_ERROR(npy.Open(logits_out, loaded.model->spec().text.vocab_size));
    gen.on_logits = [&](size_t, absl::Span<const float> row) {
      if (write_status.ok()) write_status = npy.AppendRows(row.data(), 1);
    };
  }
  shard::GenerationStats stats;
  TPS_ASSIGN_OR_RETURN(std::vector<shard::GenerationResult> results,
                       shard::Generate(*loaded.model, absl::MakeConstSpan(&request, 1), gen, &stats));
  TPS_RETURN_IF_ERROR(write_status);
  if (!logits_out.empty()) TPS_RETURN_IF_ERROR(npy.Close());

  const shard::GenerationResult& result = results[0];
  if (args.Bool("json")) {
    nlohmann::json j;
    j["tokens"] = result.tokens;
    j["prompt_tokens"] = prompt.size();
    j["finish_reason"] = result.finish_reason == shard::FinishReason::kStop ? "stop" : "length";
    j["prefill_ms"] = stats.prefill_seconds * 1e3;
    j["decode_tokens_per_s"] =
        stats.decode_seconds > 0 ? static_cast<double>(stats.decode_tokens) / stats.decode_seconds : 0.0;
    if (!logits_out.empty()) j["logits_rows"] = npy.rows();
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << absl::StrJoin(result.tokens, " ") << std::endl;
  }
  return absl::OkStatus();
}

}  // namespace tpserve::cli
