// The rendezvous store of tensor-parallel groups (comm::Store), served to workers by the cluster
// service's StoreSet / StoreWait. Keys live as long as the coordinator process.
//
// Besides the blocking comm::Store interface, WaitAsync lets the gRPC service wait without
// holding a thread: the callback runs exactly once, with the value when the key is set, with
// DeadlineExceeded naming the key when the timeout passes, or with Cancelled after CancelWait.
// Timeouts run on one internal timer thread (real time). Callbacks run outside the store's lock,
// on the thread of the Set that completed them, the timer thread, the CancelWait caller, or (for
// a key already set) inside WaitAsync itself.
//
// Thread-safe. The destructor completes every pending wait with Unavailable.
#ifndef TPSERVE_COORDINATOR_RENDEZVOUS_STORE_H_
#define TPSERVE_COORDINATOR_RENDEZVOUS_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ops/base/store.h"

namespace tpserve::coordinator {

class RendezvousStore final : public comm::Store {
 public:
  static constexpr size_t kMaxKeyBytes = 1024;
  static constexpr size_t kMaxValueBytes = 1 << 20;

  using WaitCallback = std::function<void(absl::StatusOr<std::string>)>;

  RendezvousStore();
  ~RendezvousStore() override;
  RendezvousStore(const RendezvousStore&) = delete;
  RendezvousStore& operator=(const RendezvousStore&) = delete;

  // InvalidArgument for an empty or oversized key or an oversized value.
  absl::Status Set(std::string_view key, std::string_view value) override;
  absl::StatusOr<std::string> Wait(std::string_view key, absl::Duration timeout) override;

  // Returns an id for CancelWait.
  uint64_t WaitAsync(std::string key, absl::Duration timeout, WaitCallback done);
  // Completes a pending wait with Cancelled; no-op when it already completed.
  void CancelWait(uint64_t id);

  size_t pending_waits() const;

 private:
  struct Waiter {
    std::string key;
    absl::Time deadline;
    absl::Duration timeout;
    WaitCallback done;
  };

  void TimerLoop();

  mutable absl::Mutex mu_;
  std::map<std::string, std::string, std::less<>> values_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped when the timer must re-check
  std::thread timer_;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_RENDEZVOUS_STORE_H_
