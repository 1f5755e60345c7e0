// Generator: runs whole requests on a shard::Qwen35Model — chunked prefill, batched decode,
// sampling, stop conditions. It is the engine loop of `tpserve generate`, `tpserve bench` and the
// golden tests; the serving scheduler (worker/) drives Qwen35Model step by step itself.
//
// Prefill: each prompt runs in chunks of at most `prefill_chunk` tokens (one sequence per step).
// Decode: every unfinished request advances by one token per step, all in one batched step.
#ifndef TPSERVE_TOOLS_MODEL_GENERATOR_H_
#define TPSERVE_TOOLS_MODEL_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "shard/qwen35_model.h"
#include "shard/sampling.h"
#include "shard/step_runner.h"

namespace tpserve::tools {

enum class FinishReason : uint8_t { kLength, kStop };

struct GenerationRequest {
  std::vector<int32_t> prompt;
  int32_t max_new_tokens = 16;
  shard::SamplingParams sampling;
  std::vector<int32_t> stop_token_ids;  // generation ends after emitting one of these
  // Encoded images (PNG, JPEG or WebP), in prompt order. The prompt must already hold each
  // image's placeholder expanded to its token count (vision::ExpandImagePlaceholders with
  // vision::PlanImage); the generator computes the M-RoPE positions (vision/mrope_positions.h)
  // and sends each image with the prefill chunks that hold its pad tokens.
  std::vector<std::string> images;
};

struct GenerationResult {
  std::vector<int32_t> tokens;
  FinishReason finish_reason = FinishReason::kLength;
};

struct GenerationStats {
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int64_t prompt_tokens = 0;
  int64_t decode_tokens = 0;  // tokens produced by decode steps (excludes each first token)
  int64_t decode_steps = 0;
};

struct GeneratorOptions {
  int64_t prefill_chunk = 512;
  // Called with every logits row the model computes, in order per request: all prompt positions
  // when `all_logits`, else the last prompt position, then one row per decode step.
  std::function<void(size_t request, absl::Span<const float> row)> on_logits;
  bool all_logits = false;
  int64_t valid_vocab = 0;  // sample only ids below this (0: the whole vocab)
};

// Runs every request to completion through `runner`. Slots are taken and given back through the
// plans (new_sequence / release_slots), so a sharded group's ranks stay in step.
absl::StatusOr<std::vector<GenerationResult>> Generate(shard::StepRunner& runner,
                                                       absl::Span<const GenerationRequest> requests,
                                                       const GeneratorOptions& options,
                                                       GenerationStats* stats = nullptr);
// The same on one in-process model.
absl::StatusOr<std::vector<GenerationResult>> Generate(shard::Qwen35Model& model,
                                                       absl::Span<const GenerationRequest> requests,
                                                       const GeneratorOptions& options,
                                                       GenerationStats* stats = nullptr);

}  // namespace tpserve::tools

#endif  // TPSERVE_TOOLS_MODEL_GENERATOR_H_
