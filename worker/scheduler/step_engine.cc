#include "worker/scheduler/step_engine.h"

#include <utility>

namespace tpserve::worker {

EngineLimits LimitsOf(shard::Qwen35Model& model) {
  const shard::ModelOptions& o = model.options();
  EngineLimits l;
  l.max_slots = o.max_slots;
  l.max_context = o.max_context;
  l.max_tokens_per_step = o.max_tokens_per_step;
  l.max_logit_rows = o.max_logit_rows > 0 ? o.max_logit_rows : o.max_tokens_per_step;
  l.kv_block_size = o.kv_block_size;
  l.num_kv_blocks = model.memory().num_blocks();
  l.vocab_size = model.spec().text.vocab_size;
  l.has_vision = model.spec().has_vision_tower();
  return l;
}

VisionUsage VisionUsageOf(shard::Qwen35Model& model) {
  VisionUsage u;
  const vision::ImageEncoder* encoder = model.image_encoder();
  if (encoder == nullptr) return u;
  u.parallelism =
      encoder->parallelism() == vision::TowerParallelism::kDataParallel ? "data" : "tensor";
  u.images_run = encoder->images_run();
  return u;
}

RunnerStepEngine::RunnerStepEngine(shard::StepRunner& runner,
                                   std::function<double()> collective_seconds)
    : runner_(runner),
      collective_seconds_(std::move(collective_seconds)),
      limits_(LimitsOf(runner.model())) {}

absl::StatusOr<std::vector<absl::Span<const float>>> RunnerStepEngine::Run(
    const shard::StepPlan& plan) {
  absl::StatusOr<shard::StepLogits> logits = runner_.Run(plan);
  if (!logits.ok()) return logits.status();
  std::vector<absl::Span<const float>> rows(plan.sequences.size());
  for (size_t i = 0; i < plan.sequences.size(); ++i) {
    const shard::StepLogits::Range& r = logits->sequence(i);
    if (r.count > 0) rows[i] = logits->Row(r.begin + r.count - 1);
  }
  return rows;
}

MemoryUsage RunnerStepEngine::memory_usage() const {
  const shard::SequenceMemory& m = runner_.model().memory();
  return {m.slots_in_use(), m.blocks_in_use()};
}

}  // namespace tpserve::worker
