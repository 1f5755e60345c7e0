// BatchState: what the step thread knows about the sequences of one replica between steps — the
// waiting queue, the running batch, slot ownership and the KV blocks set aside. The scheduler's
// step classes (AdmitRequests, BuildStepPlan, ApplyStepResult) read and update it in turn.
// Step thread only; not thread-safe.
#ifndef TPSERVE_WORKER_SCHEDULER_BATCH_STATE_H_
#define TPSERVE_WORKER_SCHEDULER_BATCH_STATE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "worker/scheduler/sequence.h"

namespace tpserve::worker {

class BatchState {
 public:
  explicit BatchState(int32_t max_slots) : slot_busy_(static_cast<size_t>(max_slots), false) {}

  // Waiting sequences, highest priority first, then by submission (id) order.
  std::vector<std::unique_ptr<Sequence>>& waiting() { return waiting_; }
  // Admitted sequences, in admission order.
  std::vector<std::unique_ptr<Sequence>>& running() { return running_; }
  const std::vector<std::unique_ptr<Sequence>>& waiting() const { return waiting_; }
  const std::vector<std::unique_ptr<Sequence>>& running() const { return running_; }

  // Inserts `seq` into the waiting queue at its priority / FIFO position.
  void Enqueue(std::unique_ptr<Sequence> seq);

  // The lowest slot that no running sequence owns, or -1. A slot released by the next plan is
  // free already: a plan releases before it acquires.
  int32_t FreeSlot() const;
  int32_t free_slots() const;
  void TakeSlot(Sequence& seq, int32_t slot, int64_t blocks);

  // Removes running sequence `i` (its slot goes to the next plan's release list when the model
  // acquired it) and returns it.
  std::unique_ptr<Sequence> Retire(size_t i);
  // Removes and returns the sequence with `id` from waiting or running; null when unknown.
  std::unique_ptr<Sequence> Remove(uint64_t id);
  // Removes every sequence (after a failed step) and returns them; slots and blocks are forgotten
  // (the replica is reset before it runs again).
  std::vector<std::unique_ptr<Sequence>> Clear();

  // Slots to release with the next plan; taking them clears the list.
  std::vector<int32_t> TakePendingRelease();
  bool has_pending_release() const { return !pending_release_.empty(); }

  int64_t blocks_committed() const { return blocks_committed_; }
  bool empty() const { return waiting_.empty() && running_.empty(); }

 private:
  std::vector<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;
  std::vector<bool> slot_busy_;  // [max_slots]
  std::vector<int32_t> pending_release_;
  int64_t blocks_committed_ = 0;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_SCHEDULER_BATCH_STATE_H_
