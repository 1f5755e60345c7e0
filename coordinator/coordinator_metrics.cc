#include "coordinator/coordinator_metrics.h"

#include "proto/grpc_status.h"

namespace tpserve::coordinator {
namespace {

// Bucket bounds in seconds (vLLM's choices, trimmed).
const prometheus::Histogram::BucketBoundaries& TtftBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25, 0.5,
      0.75,  1.0,   2.5,  5.0,  7.5,  10.0, 20.0, 40.0, 80.0};
  return *b;
}
const prometheus::Histogram::BucketBoundaries& ItlBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1,
      0.15,  0.2,   0.3,  0.4,   0.5,  0.75,  1.0,  2.5,  5.0,  10.0};
  return *b;
}
const prometheus::Histogram::BucketBoundaries& LongBuckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{
      0.01, 0.05, 0.1,  0.25, 0.5,   1.0,   2.5,   5.0,
      10.0, 20.0, 30.0, 60.0, 120.0, 240.0, 480.0, 960.0};
  return *b;
}

}  // namespace

CoordinatorMetrics::CoordinatorMetrics(prometheus::Registry& registry)
    : ttft_(prometheus::BuildHistogram()
                .Name("tpserve_time_to_first_token_seconds")
                .Help("Time from a chat request's arrival to its first generated token.")
                .Register(registry)),
      itl_(prometheus::BuildHistogram()
               .Name("tpserve_inter_token_latency_seconds")
               .Help("Time between consecutive generated tokens of a stream.")
               .Register(registry)),
      e2e_(prometheus::BuildHistogram()
               .Name("tpserve_e2e_request_latency_seconds")
               .Help("Time from a chat request's arrival to the end of its stream.")
               .Register(registry)),
      queue_(prometheus::BuildHistogram()
                 .Name("tpserve_request_queue_time_seconds")
                 .Help("Time a chat request waited for a replica slot.")
                 .Register(registry)),
      requests_(prometheus::BuildCounter()
                    .Name("tpserve_requests_total")
                    .Help("Chat requests by model, final gRPC status and finish reason.")
                    .Register(registry)),
      prompt_tokens_(prometheus::BuildCounter()
                         .Name("tpserve_prompt_tokens_total")
                         .Help("Prompt tokens of the chat requests sent to replicas.")
                         .Register(registry)),
      generation_tokens_(prometheus::BuildCounter()
                             .Name("tpserve_generation_tokens_total")
                             .Help("Tokens generated for chat requests.")
                             .Register(registry)),
      running_(prometheus::BuildGauge()
                   .Name("tpserve_requests_running")
                   .Help("Chat requests streaming from a replica.")
                   .Register(registry)),
      waiting_(prometheus::BuildGauge()
                   .Name("tpserve_requests_waiting")
                   .Help("Chat requests waiting for a replica slot.")
                   .Register(registry)),
      workers_(prometheus::BuildGauge()
                   .Name("tpserve_workers")
                   .Help("Live workers by the state they report.")
                   .Register(registry)),
      groups_(prometheus::BuildGauge()
                  .Name("tpserve_groups")
                  .Help("Tensor-parallel groups by model and state.")
                  .Register(registry)) {}

void CoordinatorMetrics::ObserveTimeToFirstToken(const std::string& model, double seconds) {
  ttft_.Add({{"model", model}}, TtftBuckets()).Observe(seconds);
}

void CoordinatorMetrics::ObserveInterTokenLatency(const std::string& model, double seconds) {
  itl_.Add({{"model", model}}, ItlBuckets()).Observe(seconds);
}

void CoordinatorMetrics::ObserveEndToEnd(const std::string& model, double seconds) {
  e2e_.Add({{"model", model}}, LongBuckets()).Observe(seconds);
}

void CoordinatorMetrics::ObserveQueueTime(const std::string& model, double seconds) {
  queue_.Add({{"model", model}}, LongBuckets()).Observe(seconds);
}

void CoordinatorMetrics::CountRequest(const std::string& model, absl::StatusCode status,
                                      const std::string& finish_reason) {
  requests_
      .Add(
          {{"model", model}, {"status", StatusCodeLabel(status)}, {"finish_reason", finish_reason}})
      .Increment();
}

void CoordinatorMetrics::AddPromptTokens(const std::string& model, int64_t n) {
  prompt_tokens_.Add({{"model", model}}).Increment(static_cast<double>(n));
}

void CoordinatorMetrics::AddGenerationTokens(const std::string& model, int64_t n) {
  generation_tokens_.Add({{"model", model}}).Increment(static_cast<double>(n));
}

void CoordinatorMetrics::SetRunning(const std::string& model, int n) {
  running_.Add({{"model", model}}).Set(n);
}

void CoordinatorMetrics::SetWaiting(const std::string& model, int n) {
  waiting_.Add({{"model", model}}).Set(n);
}

void CoordinatorMetrics::SetWorkers(const std::map<std::string, int>& counts_by_state) {
  absl::MutexLock lock(&mu_);
  for (const std::string& state : worker_states_seen_) {
    if (counts_by_state.count(state) == 0) workers_.Add({{"state", state}}).Set(0);
  }
  for (const auto& [state, n] : counts_by_state) {
    worker_states_seen_.insert(state);
    workers_.Add({{"state", state}}).Set(n);
  }
}

void CoordinatorMetrics::SetGroups(
    const std::map<std::pair<std::string, std::string>, int>& counts_by_model_state) {
  absl::MutexLock lock(&mu_);
  for (const auto& labels : group_labels_seen_) {
    if (counts_by_model_state.count(labels) == 0) {
      groups_.Add({{"model", labels.first}, {"state", labels.second}}).Set(0);
    }
  }
  for (const auto& [labels, n] : counts_by_model_state) {
    group_labels_seen_.insert(labels);
    groups_.Add({{"model", labels.first}, {"state", labels.second}}).Set(n);
  }
}

}  // namespace tpserve::coordinator
