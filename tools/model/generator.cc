#include "tools/model/generator.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "shard/prompt_images.h"
#include "vision/image_encoder.h"

namespace tpserve::tools {

using shard::LocalStepRunner;
using shard::LogitsMode;
using shard::PlanPromptImages;
using shard::PromptImages;
using shard::Qwen35Model;
using shard::Sampler;
using shard::SequenceStep;
using shard::StepLogits;
using shard::StepPlan;
using shard::StepRunner;

namespace {

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

absl::StatusOr<PromptImages> PrepareImages(Qwen35Model& model, const GenerationRequest& req) {
  if (req.images.empty()) return PromptImages{};
  vision::ImageEncoder* encoder = model.image_encoder();
  if (encoder == nullptr) {
    return absl::InvalidArgumentError(
        "the request has images but this model has no vision tower (a text-only config or "
        "checkpoint)");
  }
  return PlanPromptImages(req.prompt, req.images, model.spec().image_token_id,
                          encoder->options().preprocess, encoder->options().limits);
}

struct Running {
  size_t request = 0;
  int32_t slot = -1;
  std::vector<int32_t> history;  // prompt + generated
  Sampler sampler;
  bool done = false;
  int32_t position_delta = 0;  // M-RoPE offset of generated tokens (images in the prompt)
};

}  // namespace

absl::StatusOr<std::vector<GenerationResult>> Generate(Qwen35Model& model,
                                                       absl::Span<const GenerationRequest> requests,
                                                       const GeneratorOptions& options,
                                                       GenerationStats* stats) {
  LocalStepRunner runner(model);
  return Generate(runner, requests, options, stats);
}

absl::StatusOr<std::vector<GenerationResult>> Generate(StepRunner& runner,
                                                       absl::Span<const GenerationRequest> requests,
                                                       const GeneratorOptions& options,
                                                       GenerationStats* stats) {
  Qwen35Model& model = runner.model();
  GenerationStats local_stats;
  GenerationStats& st = stats != nullptr ? *stats : local_stats;
  std::vector<GenerationResult> results(requests.size());
  if (requests.empty()) return results;
  const int64_t chunk = std::min(options.prefill_chunk, model.options().max_tokens_per_step);
  if (chunk <= 0) return absl::InvalidArgumentError("prefill_chunk must be > 0");
  if (options.all_logits && chunk > model.options().max_logit_rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefill_chunk ", chunk, " exceeds max_logit_rows ", model.options().max_logit_rows));
  }
  for (size_t r = 0; r < requests.size(); ++r) {
    const GenerationRequest& req = requests[r];
    if (req.prompt.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("request ", r, ": prompt is empty"));
    }
    if (req.max_new_tokens <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("request ", r, ": max_new_tokens must be > 0, got ", req.max_new_tokens));
    }
    const int64_t total = static_cast<int64_t>(req.prompt.size()) + req.max_new_tokens;
    if (total > model.options().max_context) {
      return absl::InvalidArgumentError(absl::StrCat("request ", r, ": prompt (", req.prompt.size(),
                                                     ") + max_new_tokens (", req.max_new_tokens,
                                                     ") = ", total, " exceeds the context length ",
                                                     model.options().max_context));
    }
    TPS_RETURN_IF_ERROR_CTX(req.sampling.Validate(), "request ", r);
  }
  std::vector<PromptImages> prompt_images;
  for (size_t r = 0; r < requests.size(); ++r) {
    absl::StatusOr<PromptImages> p = PrepareImages(model, requests[r]);
    if (!p.ok()) return Annotate(p.status(), absl::StrCat("request ", r));
    prompt_images.push_back(*std::move(p));
  }

  std::vector<Running> running;
  running.reserve(requests.size());
  uint64_t step_id = 0;
  std::vector<int32_t> pending_release;  // finished slots, released by the next plan
  // Gives back every slot still held (best effort: after a failed step the group may be gone).
  auto release_all = [&] {
    StepPlan plan;
    plan.step_id = step_id++;
    for (auto& run : running) {
      if (run.slot >= 0 && model.memory().in_use(run.slot)) plan.release_slots.push_back(run.slot);
    }
    if (!plan.release_slots.empty()) (void)runner.Run(plan);
  };
  auto emit = [&](Running& run, int32_t token) {
    const GenerationRequest& req = requests[run.request];
    GenerationResult& res = results[run.request];
    res.tokens.push_back(token);
    run.history.push_back(token);
    if (std::find(req.stop_token_ids.begin(), req.stop_token_ids.end(), token) !=
        req.stop_token_ids.end()) {
      res.finish_reason = FinishReason::kStop;
      run.done = true;
    } else if (static_cast<int32_t>(res.tokens.size()) >= req.max_new_tokens) {
      res.finish_reason = FinishReason::kLength;
      run.done = true;
    }
    if (run.done) pending_release.push_back(run.slot);
  };

  // Prefill, one request at a time, in chunks.
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < requests.size(); ++r) {
    const GenerationRequest& req = requests[r];
    const int32_t slot = model.memory().FindFreeSlot();
    if (slot < 0) {
      release_all();
      return absl::ResourceExhaustedError(absl::StrCat(
          "request ", r, ": all ", model.options().max_slots, " sequence slots are in use"));
    }
    const PromptImages& pi = prompt_images[r];
    running.push_back(Running{r, -1, req.prompt, Sampler(req.sampling), false, pi.position_delta});
    Running& run = running.back();
    // The first plan acquires the slot on every rank, even when the step then fails (a bad image),
    // so release_all() must know it from the start.
    run.slot = slot;
    const int64_t len = static_cast<int64_t>(req.prompt.size());
    for (int64_t begin = 0; begin < len; begin += chunk) {
      const int64_t end = std::min(len, begin + chunk);
      StepPlan plan;
      plan.step_id = step_id++;
      SequenceStep seq;
      seq.slot = slot;
      seq.new_sequence = begin == 0;
      seq.start_index = static_cast<int32_t>(begin);
      seq.token_ids.assign(req.prompt.begin() + begin, req.prompt.begin() + end);
      if (!pi.positions.empty()) {
        seq.positions.assign(pi.positions.begin() + begin, pi.positions.begin() + end);
      }
      for (size_t k = 0; k < pi.images.size(); ++k) {
        const int64_t first = pi.images[k].first_token, last = first + pi.tokens_per_image[k];
        if (first < end && last > begin) seq.images.push_back(pi.images[k]);
      }
      seq.logits = options.all_logits ? LogitsMode::kAll
                   : end == len       ? LogitsMode::kLast
                                      : LogitsMode::kNone;
      plan.sequences.push_back(std::move(seq));
      plan.release_slots = std::move(pending_release);
      pending_release.clear();
      auto logits = runner.Run(plan);
      if (!logits.ok()) {
        release_all();
        return Annotate(logits.status(), absl::StrCat("request ", r, " prefill"));
      }
      const StepLogits::Range& range = logits->sequence(0);
      if (options.on_logits) {
        for (int64_t i = 0; i < range.count; ++i)
          options.on_logits(r, logits->Row(range.begin + i));
      }
      if (end == len) {
        emit(run, run.sampler.Sample(logits->Row(range.begin + range.count - 1), run.history,
                                     options.valid_vocab));
      }
    }
    st.prompt_tokens += len;
  }
  const auto t1 = std::chrono::steady_clock::now();
  st.prefill_seconds += Seconds(t0, t1);

  // Decode: all unfinished requests in one step per token.
  for (;;) {
    StepPlan plan;
    plan.step_id = step_id++;
    std::vector<Running*> active;
    for (auto& run : running) {
      if (run.done) continue;
      SequenceStep seq;
      seq.slot = run.slot;
      seq.start_index = static_cast<int32_t>(run.history.size()) - 1;
      seq.token_ids = {run.history.back()};
      seq.position_offset = run.position_delta;
      seq.logits = LogitsMode::kLast;
      plan.sequences.push_back(std::move(seq));
      active.push_back(&run);
    }
    if (active.empty()) break;
    plan.release_slots = std::move(pending_release);
    pending_release.clear();
    auto logits = runner.Run(plan);
    if (!logits.ok()) {
      release_all();
      return Annotate(logits.status(), "decode");
    }
    for (size_t s = 0; s < active.size(); ++s) {
      const int64_t row = logits->sequence(s).begin;
      if (options.on_logits) options.on_logits(active[s]->request, logits->Row(row));
      emit(*active[s],
           active[s]->sampler.Sample(logits->Row(row), active[s]->history, options.valid_vocab));
    }
    st.decode_tokens += static_cast<int64_t>(active.size());
    ++st.decode_steps;
  }
  st.decode_seconds += Seconds(t1, std::chrono::steady_clock::now());
  StepPlan last;
  last.step_id = step_id++;
  last.release_slots = std::move(pending_release);
  if (!last.release_slots.empty()) {
    TPS_RETURN_IF_ERROR_CTX(runner.Run(last).status(), "releasing finished sequences");
  }
  return results;
}

}  // namespace tpserve::tools
