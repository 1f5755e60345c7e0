#include "coordinator/rendezvous_store.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tpserve::coordinator {
namespace {

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status TimedOut(std::string_view key, absl::Duration timeout) {
  return absl::DeadlineExceededError(absl::StrCat(
      "store: key '", ToAbsl(key), "' was not set within ", absl::FormatDuration(timeout)));
}

}  // namespace

RendezvousStore::RendezvousStore() : timer_([this] { TimerLoop(); }) {}

RendezvousStore::~RendezvousStore() {
  std::map<uint64_t, Waiter> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    left.swap(waiters_);
  }
  timer_.join();
  for (auto& [id, w] : left)
    w.done(absl::UnavailableError("store: the coordinator is shutting down"));
}

absl::Status RendezvousStore::Set(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("store: key must have 1 to ", kMaxKeyBytes, " bytes, got ", key.size()));
  }
  if (value.size() > kMaxValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("store: value of key '", ToAbsl(key), "' has ",
                                                   value.size(), " bytes, the limit is ",
                                                   kMaxValueBytes));
  }
  std::vector<WaitCallback> ready;
  {
    absl::MutexLock lock(&mu_);
    values_[std::string(key)] = std::string(value);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.key == key) {
        ready.push_back(std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    ++generation_;
  }
  for (WaitCallback& done : ready) done(std::string(value));
  return absl::OkStatus();
}

absl::StatusOr<std::string> RendezvousStore::Wait(std::string_view key, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return values_.find(key) != values_.end(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) return TimedOut(key, timeout);
  return values_.find(key)->second;
}

uint64_t RendezvousStore::WaitAsync(std::string key, absl::Duration timeout, WaitCallback done) {
  uint64_t id;
  std::optional<std::string> value;
  {
    absl::MutexLock lock(&mu_);
    id = next_id_++;
    if (auto it = values_.find(key); it != values_.end()) {
      value = it->second;
    } else if (!stopping_) {
      waiters_[id] = Waiter{std::move(key), absl::Now() + timeout, timeout, std::move(done)};
      ++generation_;
      return id;
    }
  }
  if (value.has_value()) {
    done(*std::move(value));
  } else {
    done(absl::UnavailableError("store: the coordinator is shutting down"));
  }
  return id;
}

void RendezvousStore::CancelWait(uint64_t id) {
  WaitCallback done;
  std::string key;
  {
    absl::MutexLock lock(&mu_);
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    done = std::move(it->second.done);
    key = std::move(it->second.key);
    waiters_.erase(it);
  }
  done(absl::CancelledError(absl::StrCat("store: wait for key '", key, "' cancelled")));
}

size_t RendezvousStore::pending_waits() const {
  absl::MutexLock lock(&mu_);
  return waiters_.size();
}

void RendezvousStore::TimerLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    absl::Time earliest = absl::InfiniteFuture();
    for (const auto& [id, w] : waiters_) earliest = std::min(earliest, w.deadline);
    const uint64_t seen = generation_;
    auto changed = [&]()
                       ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || generation_ != seen; };
    if (mu_.AwaitWithDeadline(absl::Condition(&changed), earliest)) continue;
    // The earliest deadline passed: time out every wait that is due.
    const absl::Time now = absl::Now();
    std::vector<std::pair<WaitCallback, absl::Status>> due;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        due.emplace_back(std::move(it->second.done), TimedOut(it->second.key, it->second.timeout));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    mu_.Unlock();
    for (auto& [done, status] : due) done(status);
    mu_.Lock();
  }
}

}  // namespace tpserve::coordinator
