#include "worker/scheduler/batch_state.h"

#include <algorithm>
#include <utility>

#include "ops/base/check.h"

namespace tpserve::worker {

void BatchState::Enqueue(std::unique_ptr<Sequence> seq) {
  // After every sequence of higher or equal priority (FIFO among equals: ids increase).
  auto at = std::find_if(waiting_.begin(), waiting_.end(), [&](const std::unique_ptr<Sequence>& w) {
    return w->params.priority < seq->params.priority;
  });
  waiting_.insert(at, std::move(seq));
}

int32_t BatchState::FreeSlot() const {
  for (size_t s = 0; s < slot_busy_.size(); ++s) {
    if (!slot_busy_[s]) return static_cast<int32_t>(s);
  }
  return -1;
}

int32_t BatchState::free_slots() const {
  return static_cast<int32_t>(std::count(slot_busy_.begin(), slot_busy_.end(), false));
}

void BatchState::TakeSlot(Sequence& seq, int32_t slot, int64_t blocks) {
  TPS_CHECK(slot >= 0 && static_cast<size_t>(slot) < slot_busy_.size() &&
                !slot_busy_[static_cast<size_t>(slot)],
            "slot taken twice");
  slot_busy_[static_cast<size_t>(slot)] = true;
  seq.slot = slot;
  seq.blocks_committed = blocks;
  blocks_committed_ += blocks;
}

std::unique_ptr<Sequence> BatchState::Retire(size_t i) {
  std::unique_ptr<Sequence> seq = std::move(running_[i]);
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
  if (seq->slot >= 0) {
    slot_busy_[static_cast<size_t>(seq->slot)] = false;
    if (seq->slot_acquired) pending_release_.push_back(seq->slot);
  }
  blocks_committed_ -= seq->blocks_committed;
  seq->blocks_committed = 0;
  return seq;
}

std::unique_ptr<Sequence> BatchState::Remove(uint64_t id) {
  for (size_t i = 0; i < waiting_.size(); ++i) {
    if (waiting_[i]->id == id) {
      std::unique_ptr<Sequence> seq = std::move(waiting_[i]);
      waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(i));
      return seq;
    }
  }
  for (size_t i = 0; i < running_.size(); ++i) {
    if (running_[i]->id == id) return Retire(i);
  }
  return nullptr;
}

std::vector<std::unique_ptr<Sequence>> BatchState::Clear() {
  std::vector<std::unique_ptr<Sequence>> all = std::move(running_);
  for (auto& w : waiting_) all.push_back(std::move(w));
  waiting_.clear();
  running_.clear();
  std::fill(slot_busy_.begin(), slot_busy_.end(), false);
  pending_release_.clear();
  blocks_committed_ = 0;
  return all;
}

std::vector<int32_t> BatchState::TakePendingRelease() {
  std::vector<int32_t> out = std::move(pending_release_);
  pending_release_.clear();
  return out;
}

}  // namespace tpserve::worker
