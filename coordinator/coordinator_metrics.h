// The coordinator's Prometheus metrics. Constructed in main() on the process's registry (or in a
// test on its own registry) and passed by reference to the parts that record; never a static.
//
//   tpserve_time_to_first_token_seconds{model}     histogram  request arrival -> first token
//   tpserve_inter_token_latency_seconds{model}     histogram  per generated token after the first
//   tpserve_e2e_request_latency_seconds{model}     histogram  arrival -> end of the stream
//   tpserve_request_queue_time_seconds{model}      histogram  waiting for a replica slot
//   tpserve_requests_total{model,status,finish_reason}  counter  every admitted or refused request
//       status: the gRPC code ("ok", "invalid_argument", ...); finish_reason: "stop", "length",
//       "tool_calls", "cancelled" or "none" (ended by an error status). Requests for an unknown
//       model count under model="unknown" (a client-chosen label value would be unbounded).
//   tpserve_prompt_tokens_total{model}             counter
//   tpserve_generation_tokens_total{model}         counter
//   tpserve_requests_running{model}                gauge  streams open to leaders
//   tpserve_requests_waiting{model}                gauge  requests waiting for a replica slot
//   tpserve_workers{state}                         gauge  live workers by reported state
//   tpserve_groups{model,state}                    gauge  groups by state (ready, loading, ...)
//
// Thread-safe (prometheus-cpp metrics are).
#ifndef TPSERVE_COORDINATOR_COORDINATOR_METRICS_H_
#define TPSERVE_COORDINATOR_COORDINATOR_METRICS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace tpserve::coordinator {

class CoordinatorMetrics {
 public:
  explicit CoordinatorMetrics(prometheus::Registry& registry);
  CoordinatorMetrics(const CoordinatorMetrics&) = delete;
  CoordinatorMetrics& operator=(const CoordinatorMetrics&) = delete;

  void ObserveTimeToFirstToken(const std::string& model, double seconds);
  void ObserveInterTokenLatency(const std::string& model, double seconds);
  void ObserveEndToEnd(const std::string& model, double seconds);
  void ObserveQueueTime(const std::string& model, double seconds);

  void CountRequest(const std::string& model, absl::StatusCode status,
                    const std::string& finish_reason);
  void AddPromptTokens(const std::string& model, int64_t n);
  void AddGenerationTokens(const std::string& model, int64_t n);

  void SetRunning(const std::string& model, int n);
  void SetWaiting(const std::string& model, int n);
  // Replaces the whole gauge: label sets that are not in `counts` go to 0.
  void SetWorkers(const std::map<std::string, int>& counts_by_state);
  void SetGroups(const std::map<std::pair<std::string, std::string>, int>& counts_by_model_state);

 private:
  prometheus::Family<prometheus::Histogram>& ttft_;
  prometheus::Family<prometheus::Histogram>& itl_;
  prometheus::Family<prometheus::Histogram>& e2e_;
  prometheus::Family<prometheus::Histogram>& queue_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& prompt_tokens_;
  prometheus::Family<prometheus::Counter>& generation_tokens_;
  prometheus::Family<prometheus::Gauge>& running_;
  prometheus::Family<prometheus::Gauge>& waiting_;
  prometheus::Family<prometheus::Gauge>& workers_;
  prometheus::Family<prometheus::Gauge>& groups_;

  absl::Mutex mu_;
  std::set<std::string> worker_states_seen_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<std::string, std::string>> group_labels_seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_COORDINATOR_METRICS_H_
