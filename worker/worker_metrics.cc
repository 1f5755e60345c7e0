#include "worker/worker_metrics.h"

#include <string_view>

namespace tpserve::worker {

WorkerMetrics::WorkerMetrics(prometheus::Registry& registry) {
  // Steps range from ~50 µs (a tiny decode) to seconds (a long prefill of a large model).
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
  auto& steps = prometheus::BuildHistogram()
                    .Name("tpserve_worker_step_seconds")
                    .Help("Wall time of one forward step on this rank, by phase.")
                    .Register(registry);
  step_prefill_ = &steps.Add({{"phase", "prefill"}}, buckets);
  step_decode_ = &steps.Add({{"phase", "decode"}}, buckets);
  step_mixed_ = &steps.Add({{"phase", "mixed"}}, buckets);
  steps_ = &prometheus::BuildCounter()
                .Name("tpserve_worker_steps_total")
                .Help("Forward steps run on this rank.")
                .Register(registry)
                .Add({});
  collective_seconds_ =
      &prometheus::BuildCounter()
           .Name("tpserve_worker_collective_seconds_total")
           .Help("Time this rank spent in collectives (waits for peers included).")
           .Register(registry)
           .Add({});
  generated_tokens_ = &prometheus::BuildCounter()
                           .Name("tpserve_worker_generated_tokens_total")
                           .Help("Tokens sampled by this group leader.")
                           .Register(registry)
                           .Add({});
  running_ = &prometheus::BuildGauge()
                  .Name("tpserve_sequences_running")
                  .Help("Sequences admitted into the running batch (group leader).")
                  .Register(registry)
                  .Add({});
  waiting_ = &prometheus::BuildGauge()
                  .Name("tpserve_sequences_waiting")
                  .Help("Sequences queued for admission (group leader).")
                  .Register(registry)
                  .Add({});
  blocks_in_use_ = &prometheus::BuildGauge()
                        .Name("tpserve_kv_cache_blocks_in_use")
                        .Help("KV-cache blocks held by sequences on this rank.")
                        .Register(registry)
                        .Add({});
  blocks_capacity_ = &prometheus::BuildGauge()
                          .Name("tpserve_kv_cache_blocks_capacity")
                          .Help("KV-cache blocks in this rank's pool.")
                          .Register(registry)
                          .Add({});
  slots_in_use_ = &prometheus::BuildGauge()
                       .Name("tpserve_recurrent_state_slots_in_use")
                       .Help("DeltaNet recurrent-state slots held by sequences on this rank.")
                       .Register(registry)
                       .Add({});
  slots_capacity_ = &prometheus::BuildGauge()
                         .Name("tpserve_recurrent_state_slots_capacity")
                         .Help("DeltaNet recurrent-state slots on this rank.")
                         .Register(registry)
                         .Add({});
  auto& state = prometheus::BuildGauge()
                    .Name("tpserve_worker_state")
                    .Help("1 for this worker's current state, 0 for the others.")
                    .Register(registry);
  state_loading_ = &state.Add({{"state", "loading"}});
  state_ready_ = &state.Add({{"state", "ready"}});
  state_failed_ = &state.Add({{"state", "failed"}});
  formations_ =
      &prometheus::BuildCounter()
           .Name("tpserve_worker_group_formations_total")
           .Help("Times this rank's tensor-parallel group was formed (re-formations included).")
           .Register(registry)
           .Add({});
  vision_images_ = &prometheus::BuildCounter()
                        .Name("tpserve_vision_images_encoded_total")
                        .Help(
                            "Images this rank ran through its vision tower (all of them with a "
                            "tensor-parallel tower, its own share with a data-parallel one).")
                        .Register(registry)
                        .Add({});
  auto& vision_info = prometheus::BuildGauge()
                          .Name("tpserve_vision_tower_info")
                          .Help(
                              "1 for how this rank runs the vision tower: tensor (split across "
                              "the group), data (whole, images spread) or none.")
                          .Register(registry);
  vision_tensor_ = &vision_info.Add({{"parallelism", "tensor"}});
  vision_data_ = &vision_info.Add({{"parallelism", "data"}});
  vision_none_ = &vision_info.Add({{"parallelism", "none"}});
  SetState(WorkerState::kLoading);
}

void WorkerMetrics::SetVision(const VisionUsage& usage) {
  const std::string_view mode = usage.parallelism;
  vision_tensor_->Set(mode == "tensor" ? 1 : 0);
  vision_data_->Set(mode == "data" ? 1 : 0);
  vision_none_->Set(mode == "none" ? 1 : 0);
  const int64_t seen = vision_images_seen_.exchange(usage.images_run);
  const int64_t delta = usage.images_run >= seen ? usage.images_run - seen : usage.images_run;
  if (delta > 0) vision_images_->Increment(static_cast<double>(delta));
}

void WorkerMetrics::ObserveStep(StepPhase phase, double seconds) {
  switch (phase) {
    case StepPhase::kPrefill:
      step_prefill_->Observe(seconds);
      break;
    case StepPhase::kDecode:
      step_decode_->Observe(seconds);
      break;
    case StepPhase::kMixed:
      step_mixed_->Observe(seconds);
      break;
    case StepPhase::kNone:
      return;
  }
  steps_->Increment();
}

void WorkerMetrics::AddCollectiveSeconds(double seconds) {
  if (seconds > 0) collective_seconds_->Increment(seconds);
}

void WorkerMetrics::AddGeneratedTokens(int64_t n) {
  if (n > 0) generated_tokens_->Increment(static_cast<double>(n));
}

void WorkerMetrics::SetSequences(int64_t running, int64_t waiting) {
  running_->Set(static_cast<double>(running));
  waiting_->Set(static_cast<double>(waiting));
}

void WorkerMetrics::SetMemory(int64_t slots_in_use, int64_t slots_total, int64_t blocks_in_use,
                              int64_t blocks_total) {
  slots_in_use_->Set(static_cast<double>(slots_in_use));
  slots_capacity_->Set(static_cast<double>(slots_total));
  blocks_in_use_->Set(static_cast<double>(blocks_in_use));
  blocks_capacity_->Set(static_cast<double>(blocks_total));
}

void WorkerMetrics::SetState(WorkerState state) {
  state_loading_->Set(state == WorkerState::kLoading ? 1 : 0);
  state_ready_->Set(state == WorkerState::kReady ? 1 : 0);
  state_failed_->Set(state == WorkerState::kFailed ? 1 : 0);
}

void WorkerMetrics::AddFormation() { formations_->Increment(); }

}  // namespace tpserve::worker
