// Scheduler: continuous batching on a group leader. gRPC threads Submit() sequences and Cancel()
// them; one step thread runs Serve(), which loops over the steps of TensorRT-LLM's executor loop,
// each a small class of its own:
//
//   take the inbox (new sequences, cancellations) → AdmitRequests → BuildStepPlan →
//   StepEngine::Run → ApplyStepResult (sample, stream, retire) → publish the load
//
// so new sequences join the running batch at every step and long prompts are prefilled in
// chunks while running decodes keep flowing (policy: build_step_plan.h, admit_requests.h).
//
// Threading: Submit, Cancel, SetRejectStatus, BeginDrain and load() are thread-safe and never block
// on a step (they take one mutex, which the step thread holds only to swap queues). Serve runs
// on one thread at a time; sinks are called on it.
//
// Failure: when a step fails (a rank died, a collective timed out) or `health` reports an error,
// Serve fails every sequence — running, waiting and queued — with UNAVAILABLE, stops accepting,
// and returns the error; the caller repairs the replica (re-forms the group) and calls Serve again.
#ifndef TPSERVE_WORKER_SCHEDULER_SCHEDULER_H_
#define TPSERVE_WORKER_SCHEDULER_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "worker/scheduler/admit_requests.h"
#include "worker/scheduler/batch_state.h"
#include "worker/scheduler/sequence.h"
#include "worker/scheduler/step_engine.h"
#include "worker/worker_metrics.h"

namespace tpserve::worker {

struct SchedulerOptions {
  // Tokens per step: every decoding sequence's token first, the rest for prompt chunks. Capped
  // by the engine's max_tokens_per_step; must be >= its max_slots.
  int64_t token_budget = 256;
  // How long an idle loop sleeps before it checks `health` and the drain deadline again.
  absl::Duration idle_wait = absl::Milliseconds(20);
};

// What the leader reports in its heartbeats.
struct SchedulerLoad {
  int32_t running = 0;
  int32_t waiting = 0;  // queued for admission, inbox included
  MemoryUsage memory;   // the engine's (every rank holds the same)
  EngineLimits limits;  // valid once `serving_once`
  bool serving_once = false;
};

class Scheduler {
 public:
  Scheduler(const SchedulerOptions& options, WorkerMetrics* metrics);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a sequence and returns its id. Errors: the SetRejectStatus status while not accepting
  // (FailedPrecondition while loading, Unavailable while the group is broken or shutting down),
  // then AdmitRequests::CheckFits (InvalidArgument, ResourceExhausted when it can never fit).
  absl::StatusOr<uint64_t> Submit(GenerateParams params, std::shared_ptr<SequenceSink> sink);
  // Ends the sequence: its sink gets Cancelled and its slot is released by the next plan. Unknown
  // or finished ids are ignored.
  void Cancel(uint64_t id);
  // The status Submit returns while the replica cannot serve (Serve() accepts while it runs).
  void SetRejectStatus(const absl::Status& status);
  // Stops accepting (Unavailable "shutting down"); Serve returns once every sequence has ended,
  // failing the ones still running after `grace` with Unavailable.
  void BeginDrain(absl::Duration grace);
  SchedulerLoad load() const;

  // Runs steps on `engine` (step thread). Returns OK after a drain, or the error that broke the
  // replica. `health` (may be empty) is polled between steps and while idle.
  absl::Status Serve(StepEngine& engine, const std::function<absl::Status()>& health);

 private:
  struct Inbox {
    std::vector<std::unique_ptr<Sequence>> submitted;
    std::vector<uint64_t> cancelled;
  };
  Inbox TakeInbox(BatchState& state);
  bool WaitForWork(absl::Duration timeout);
  void FailAll(BatchState& state, const absl::Status& status);
  void PublishLoad(const BatchState& state, const StepEngine& engine);
  absl::Status Finish(BatchState& state, StepEngine& engine, const absl::Status& why);

  const SchedulerOptions options_;
  WorkerMetrics* const metrics_;

  mutable absl::Mutex mu_;
  absl::Status reject_ ABSL_GUARDED_BY(mu_) =
      absl::FailedPreconditionError("the replica is loading");
  bool accepting_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<AdmitRequests> admit_ ABSL_GUARDED_BY(mu_);
  Inbox inbox_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time drain_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  SchedulerLoad load_ ABSL_GUARDED_BY(mu_);

  uint64_t next_step_id_ = 0;  // step thread only
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SCHEDULER_SCHEDULER_H_
