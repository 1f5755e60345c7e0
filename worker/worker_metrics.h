// WorkerMetrics: the Prometheus metrics of one worker process (any rank). Created in main() on a
// registry main() owns and exposes, then passed by pointer to the parts that record (injected, not
// a singleton: tests build their own registry and read the values back).
//
//   tpserve_worker_step_seconds{phase="prefill|decode|mixed"}  histogram  wall time of one step
//   tpserve_worker_steps_total                                  counter
//   tpserve_worker_collective_seconds_total                     counter    time in collectives
//   tpserve_worker_generated_tokens_total                       counter    sampled tokens (leader)
//   tpserve_sequences_running / tpserve_sequences_waiting       gauges     (leader)
//   tpserve_kv_cache_blocks_in_use / tpserve_kv_cache_blocks_capacity             gauges
//   tpserve_recurrent_state_slots_in_use / tpserve_recurrent_state_slots_capacity gauges
//   tpserve_worker_state{state="loading|ready|failed"}          gauge      1 for the current state
//   tpserve_worker_group_formations_total                       counter    (re-)formations done
//   tpserve_vision_images_encoded_total                         counter    images this rank ran
//       through its vision tower (all of them with a tensor-parallel tower, its own share with
//       a data-parallel one)
//   tpserve_vision_tower_info{parallelism="tensor|data|none"}   gauge      1 for the tower's mode
//
// Thread-safety: every method may be called from any thread (prometheus-cpp metrics are atomic).
#ifndef TPSERVE_WORKER_WORKER_METRICS_H_
#define TPSERVE_WORKER_WORKER_METRICS_H_

#include <atomic>
#include <cstdint>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "worker/scheduler/build_step_plan.h"
#include "worker/scheduler/step_engine.h"
#include "worker/worker_status.h"

namespace tpserve::worker {

class WorkerMetrics {
 public:
  explicit WorkerMetrics(prometheus::Registry& registry);

  void ObserveStep(StepPhase phase, double seconds);
  void AddCollectiveSeconds(double seconds);
  void AddGeneratedTokens(int64_t n);
  void SetSequences(int64_t running, int64_t waiting);
  void SetMemory(int64_t slots_in_use, int64_t slots_total, int64_t blocks_in_use,
                 int64_t blocks_total);
  void SetState(WorkerState state);
  void AddFormation();
  // From the model after each step: sets the info gauge and advances the images counter by what
  // the encoder ran since the last call (a reloaded model starts again from 0).
  void SetVision(const VisionUsage& usage);

 private:
  prometheus::Histogram* step_prefill_;
  prometheus::Histogram* step_decode_;
  prometheus::Histogram* step_mixed_;
  prometheus::Counter* steps_;
  prometheus::Counter* collective_seconds_;
  prometheus::Counter* generated_tokens_;
  prometheus::Counter* vision_images_;
  prometheus::Gauge* vision_tensor_;  // tpserve_vision_tower_info{parallelism="tensor"}
  prometheus::Gauge* vision_data_;
  prometheus::Gauge* vision_none_;
  std::atomic<int64_t> vision_images_seen_{0};
  prometheus::Gauge* running_;
  prometheus::Gauge* waiting_;
  prometheus::Gauge* blocks_in_use_;
  prometheus::Gauge* blocks_capacity_;
  prometheus::Gauge* slots_in_use_;
  prometheus::Gauge* slots_capacity_;
  prometheus::Gauge* state_loading_;
  prometheus::Gauge* state_ready_;
  prometheus::Gauge* state_failed_;
  prometheus::Counter* formations_;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_WORKER_METRICS_H_
