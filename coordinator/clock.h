// The coordinator's notion of "now", injected so that lease expiry, session expiry and latency
// bookkeeping can be tested with a fake clock instead of sleeps.
//
//   SystemClock clock;                    // production
//   FakeClock fake(absl::UnixEpoch());    // tests: fake.Advance(absl::Seconds(3));
//
// Both are thread-safe.
#ifndef TPSERVE_COORDINATOR_CLOCK_H_
#define TPSERVE_COORDINATOR_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tpserve::coordinator {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// absl::Now().
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::UnixEpoch() + absl::Hours(24)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_CLOCK_H_
