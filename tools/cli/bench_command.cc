// tpserve bench: prefill and decode speed of a model on this machine, with the memory traffic
// that bounds decode (weights streamed per step, DeltaNet state read and written per sequence).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"
#include "tools/model/generator.h"
#include "worker/local_group.h"

namespace tpserve::cli {
namespace {

size_t ViewBytes(const ops::ConstTensorView& v) {
  return static_cast<size_t>(v.num_elements()) * v.element_size();
}
size_t LinearBytes(const shard::LinearWeight& w) {
  size_t b = 0;
  for (const auto& p : w.pieces) b += ViewBytes(p);
  return b;
}

// Bytes of weights every decode step reads (all matmul weights and the LM head).
size_t StepWeightBytes(const shard::ModelWeights& w) {
  size_t b = ViewBytes(w.lm_head);
  for (const auto& l : w.layers) {
    b += LinearBytes(l.mlp.gate_proj) + LinearBytes(l.mlp.up_proj) + LinearBytes(l.mlp.down_proj);
    if (l.kind == model::LayerKind::kFullAttention) {
      b += LinearBytes(l.attention.q_proj) + LinearBytes(l.attention.k_proj) +
           LinearBytes(l.attention.v_proj) + LinearBytes(l.attention.o_proj);
    } else {
      const auto& d = l.delta_net;
      b += LinearBytes(d.in_proj_qkv) + LinearBytes(d.in_proj_z) + LinearBytes(d.in_proj_a) +
           LinearBytes(d.in_proj_b) + LinearBytes(d.out_proj);
    }
  }
  return b;
}

std::vector<int32_t> RandomIds(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  uint64_t s = seed;
  for (auto& id : ids) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  return ids;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

constexpr IntFlag kPromptLenFlag{.name = "prompt-len",
                                 .value_name = "N",
                                 .help = "tokens of the prefill prompt",
                                 .default_value = 512,
                                 .min = 1,
                                 .max = worker::kMaxContextFlag.max};
constexpr IntFlag kDecodeTokensFlag{.name = "decode-tokens",
                                    .value_name = "N",
                                    .help = "decode steps per batch",
                                    .default_value = 32,
                                    .min = 1,
                                    .max = worker::kMaxContextFlag.max};
constexpr StringFlag kBatchesFlag{.name = "batches",
                                  .value_name = "B,B,...",
                                  .help = "decode batch sizes, each in [1, 1024]",
                                  .default_value = "1,16"};
constexpr IntFlag kRepeatsFlag{.name = "repeats",
                               .value_name = "N",
                               .help = "runs of each measurement (the median is reported)",
                               .default_value = 3,
                               .min = 1,
                               .max = 1000};
constexpr BoolFlag kJsonFlag{.name = "json", .help = "print the report as JSON too"};

const FlagList& Flags() {
  static const FlagList* const flags =
      new FlagList(Concat({worker::kModelFlag, kPromptLenFlag, kDecodeTokensFlag, kBatchesFlag,
                           kRepeatsFlag, kJsonFlag},
                          ModelFlagList(worker::kMaxContextFlag.WithDefault(
                              worker::kMaxContextFlag.default_value, "what the runs need"))));
  return *flags;
}

}  // namespace

absl::Status RunBench(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, Flags()));
  if (args.help()) {
    std::fputs(
        absl::StrCat("usage: tpserve bench --model DIR [flags]\n\n", FlagUsage(Flags())).c_str(),
        stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(std::string dir, args.Required(worker::kModelFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t prompt_len, args.Get(kPromptLenFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t decode_tokens, args.Get(kDecodeTokensFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t repeats, args.Get(kRepeatsFlag));
  TPS_ASSIGN_OR_RETURN(std::vector<int32_t> batches, args.GetIntList(kBatchesFlag));
  if (batches.empty()) batches = {1, 16};
  for (int32_t b : batches) {
    if (b <= 0 || b > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("--batches entries must be in [1, 1024], got ", b));
    }
  }
  TPS_ASSIGN_OR_RETURN(ModelFlags flags, ParseModelFlags(args));
  constexpr int64_t kDecodePrompt = 8;
  shard::ModelOptions options = flags.options;
  options.max_slots = *std::max_element(batches.begin(), batches.end());
  if (!args.Has(worker::kMaxContextFlag)) {
    options.max_context =
        static_cast<int32_t>(std::max(prompt_len, kDecodePrompt) + decode_tokens + 1);
  }
  options.max_tokens_per_step = std::max<int64_t>({flags.prefill_chunk, options.max_slots, 1});
  options.max_logit_rows = options.max_slots;

  const int64_t tp = flags.layout.tp_size;
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<worker::LocalGroup> replica,
                       OpenLocalGroup(dir, flags, options));
  shard::StepRunner& runner = *replica;
  shard::Qwen35Model& model = runner.model();
  const int64_t vocab = std::min<int64_t>(model.spec().text.vocab_size, 248044);
  // Every rank streams its own shard; the leader's shard is 1/tp of the sharded weights.
  const size_t weight_bytes = StepWeightBytes(model.weights()) * static_cast<size_t>(tp);
  const size_t state_bytes = model.memory().state_bytes() / static_cast<size_t>(options.max_slots) *
                             static_cast<size_t>(tp);
  tools::GeneratorOptions gen;
  gen.prefill_chunk = flags.prefill_chunk;

  // Prefill: one prompt of prompt_len tokens.
  std::vector<double> prefill_tps;
  for (int64_t r = 0; r < repeats; ++r) {
    tools::GenerationRequest req;
    req.prompt = RandomIds(prompt_len, vocab, 1000 + static_cast<uint64_t>(r));
    req.max_new_tokens = 1;
    tools::GenerationStats st;
    TPS_RETURN_IF_ERROR(tools::Generate(runner, absl::MakeConstSpan(&req, 1), gen, &st).status());
    prefill_tps.push_back(static_cast<double>(prompt_len) / st.prefill_seconds);
  }

  nlohmann::json report;
  report["model"] = dir;
  report["backend"] = replica->Describe();
  report["tp"] = tp;
  report["weight_dtype"] = std::string(DTypeName(model.weights().weight_dtype));
  report["prompt_len"] = prompt_len;
  report["prefill_tokens_per_s"] = Median(prefill_tps);
  report["weight_bytes_per_step"] = weight_bytes;
  report["deltanet_state_bytes_per_sequence"] = state_bytes;
  std::printf("backend: %s\n", replica->Describe().c_str());
  std::printf("weights read per decode step: %.1f MB (%s); DeltaNet state per sequence: %.1f MB\n",
              static_cast<double>(weight_bytes) / 1e6,
              std::string(DTypeName(model.weights().weight_dtype)).c_str(),
              static_cast<double>(state_bytes) / 1e6);
  std::printf("prefill %lld tokens: %.1f tokens/s (median of %lld)\n",
              static_cast<long long>(prompt_len), Median(prefill_tps),
              static_cast<long long>(repeats));

  for (int32_t batch : batches) {
    std::vector<double> tps, step_s, comm_share;
    for (int64_t r = 0; r < repeats; ++r) {
      std::vector<tools::GenerationRequest> reqs(static_cast<size_t>(batch));
      for (int32_t b = 0; b < batch; ++b) {
        reqs[static_cast<size_t>(b)].prompt =
            RandomIds(kDecodePrompt, vocab, 7 + static_cast<uint64_t>(b));
        reqs[static_cast<size_t>(b)].max_new_tokens = static_cast<int32_t>(decode_tokens + 1);
      }
      tools::GenerationStats st;
      const double collective_before = replica->collective_seconds();
      TPS_RETURN_IF_ERROR(tools::Generate(runner, reqs, gen, &st).status());
      tps.push_back(static_cast<double>(st.decode_tokens) / st.decode_seconds);
      // Collective time of the whole run (prefill included) over the whole run's time.
      if (tp > 1) {
        comm_share.push_back((replica->collective_seconds() - collective_before) /
                             (st.prefill_seconds + st.decode_seconds));
      }
      step_s.push_back(st.decode_seconds / static_cast<double>(st.decode_steps));
    }
    const double step = Median(step_s);
    // Traffic per step: every weight once, and each sequence's DeltaNet state read and written.
    const double bytes =
        static_cast<double>(weight_bytes) + 2.0 * batch * static_cast<double>(state_bytes);
    const double gbps = bytes / step / 1e9;
    std::printf(
        "decode batch %d: %.2f tokens/s (%.1f ms/step), weight bytes per token %.1f MB, "
        "achieved %.1f GB/s%s\n",
        batch, Median(tps), step * 1e3, static_cast<double>(weight_bytes) / batch / 1e6, gbps,
        comm_share.empty()
            ? ""
            : absl::StrFormat(", %.0f%% of time in collectives (leader)", 100 * Median(comm_share))
                  .c_str());
    nlohmann::json d;
    d["batch"] = batch;
    d["tokens_per_s"] = Median(tps);
    d["ms_per_step"] = step * 1e3;
    d["weight_bytes_per_token"] = static_cast<double>(weight_bytes) / batch;
    d["achieved_gb_per_s"] = gbps;
    if (!comm_share.empty()) d["collective_time_share"] = Median(comm_share);
    report["decode"].push_back(d);
  }
  if (args.Get(kJsonFlag)) std::cout << report.dump(2) << std::endl;
  return absl::OkStatus();
}

}  // namespace tpserve::cli
