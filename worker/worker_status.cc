#include "worker/worker_status.h"

#include <utility>

#include "ops/base/log.h"

namespace tpserve::worker {

const char* WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kLoading:
      return "loading";
    case WorkerState::kReady:
      return "ready";
    case WorkerState::kFailed:
      return "failed";
    case WorkerState::kDraining:
      return "draining";
  }
  return "failed";
}

WorkerStatus::WorkerStatus(std::string who, std::function<void(const Snapshot&)> on_change)
    : who_(std::move(who)), on_change_(std::move(on_change)) {}

void WorkerStatus::Set(WorkerState state, const std::string& detail) {
  Snapshot copy;
  {
    absl::MutexLock lock(&mu_);
    if (snapshot_.state == state && snapshot_.detail == detail && snapshot_.version > 0) return;
    snapshot_.state = state;
    snapshot_.detail = detail;
    ++snapshot_.version;
    copy = snapshot_;
  }
  if (state == WorkerState::kFailed) {
    TPS_LOG(kWarning) << who_ << ": " << WorkerStateName(state) << (detail.empty() ? "" : ": ")
                      << detail;
  } else {
    TPS_LOG(kInfo) << who_ << ": " << WorkerStateName(state) << (detail.empty() ? "" : ": ")
                   << detail;
  }
  if (on_change_) on_change_(copy);
}

WorkerStatus::Snapshot WorkerStatus::Get() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

bool WorkerStatus::AwaitState(WorkerState state, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto reached = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return snapshot_.state == state; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace tpserve::worker
