// AdmitRequests: the admission step of the leader's loop. Moves waiting sequences into the running
// batch while both a sequence slot (DeltaNet state row) and the KV blocks for the sequence's whole
// length (prompt + max_tokens) are free, so an admitted sequence can never run out of KV memory
// mid-generation and nothing needs preempting.
//
// Order: highest priority first, FIFO among equal priorities. The head of the queue is never
// overtaken: when it does not fit, nothing behind it is admitted either, so a long request cannot
// be starved by a stream of short ones (vLLM's FCFS policy; TGI's queue does the same).
#ifndef TPSERVE_WORKER_SCHEDULER_ADMIT_REQUESTS_H_
#define TPSERVE_WORKER_SCHEDULER_ADMIT_REQUESTS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "worker/scheduler/batch_state.h"
#include "worker/scheduler/sequence.h"
#include "worker/scheduler/step_engine.h"

namespace tpserve::worker {

class AdmitRequests {
 public:
  explicit AdmitRequests(const EngineLimits& limits) : limits_(limits) {}

  // KV blocks a request needs for its whole length.
  int64_t BlocksNeeded(const GenerateParams& params) const;
  // OK when the request can run on this replica once others finish; otherwise InvalidArgument
  // (empty prompt, ids outside the vocabulary, bad sampling, longer than the context) or
  // ResourceExhausted (more KV blocks than the whole pool). Never "not now".
  absl::Status CheckFits(const GenerateParams& params) const;

  // Admits from the head of `state.waiting()`; returns how many were admitted.
  int Run(BatchState& state, absl::Time now) const;

 private:
  EngineLimits limits_;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SCHEDULER_ADMIT_REQUESTS_H_
