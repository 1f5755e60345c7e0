// Routing of admitted requests to ready groups, with a bounded per-model wait queue.
//
// A request is dispatched to a ready group of its model that has a free slot. A group's slots
// are the max_sequences its leader reports (Options::default_group_capacity while it reports
// none); the router counts the streams it has open to each group. Among groups with a free slot
// it picks the least loaded, load = max(the leader's reported running + waiting, the router's
// open streams) / slots. A request with a session id goes back to the group that served that
// session before, as long as that group is ready (it waits for a slot there rather than going
// elsewhere, so the group's cached state can be reused); the session's entry expires after
// Options::session_ttl without use.
//
// When every slot is taken the request waits: at most Options::max_queue requests per model
// (then RESOURCE_EXHAUSTED), higher priority first, first come first served within a priority.
// Overload is shed rather than queued forever: a request leaves the queue when its deadline passes
// (DEADLINE_EXCEEDED) or when it has waited Options::max_queue_wait (RESOURCE_EXHAUSTED), at the
// next Pump; and a request whose expected wait already exceeds what it may wait is refused at
// Submit (RESOURCE_EXHAUSTED, saying the estimate). The expected wait is (requests ahead + 1) x
// the model's mean stream time / its ready slots, the mean an exponential average over finished
// streams (no estimate, so no refusal, before Options::min_samples of them).
// A model with no ready group refuses new requests with UNAVAILABLE at once; its waiting
// requests get UNAVAILABLE once it has had no ready group for Options::unready_grace.
//
// Call order per request: Submit -> (dispatched at once, or later through the callback, or
// Cancel while waiting) -> Release when its leader stream has ended. Pump() is called
// periodically (new groups, expiries) and after every Release.
//
// Thread-safe. Callbacks run outside the router's lock, on the thread of the Submit, Release or
// Pump that made the decision.
#ifndef TPSERVE_COORDINATOR_ROUTER_H_
#define TPSERVE_COORDINATOR_ROUTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/clock.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/membership.h"

namespace tpserve::coordinator {

struct RouteTarget {
  GroupKey group;
  std::string leader_address;
  absl::Time dispatched = absl::InfinitePast();  // set by the router (for the stream time)
};

struct RouteRequest {
  std::string model;
  std::string session_id;                        // empty: no affinity
  int32_t priority = 0;                          // higher first
  absl::Time deadline = absl::InfiniteFuture();  // the client's
};

class Router {
 public:
  struct Options {
    int max_queue = 64;
    absl::Duration session_ttl = absl::Minutes(30);
    int default_group_capacity = 16;
    absl::Duration unready_grace = absl::Seconds(2);
    // The longest a request waits for a slot (InfiniteDuration: its deadline only).
    absl::Duration max_queue_wait = absl::Seconds(60);
    // Finished streams before the expected wait is trusted for refusals.
    int min_samples = 4;
  };
  // Called exactly once per queued request (unless Cancel returned true): with the target, or
  // with UNAVAILABLE when the model lost its last ready group.
  using DispatchCallback = std::function<void(absl::StatusOr<RouteTarget>)>;

  struct Submitted {
    std::optional<RouteTarget> target;  // dispatched at once
    uint64_t ticket = 0;                // else queued under this ticket
  };

  Router(Options options, const Membership& membership, const Clock& clock,
         CoordinatorMetrics& metrics);

  // UNAVAILABLE when the model has no ready group; RESOURCE_EXHAUSTED when its queue is full or
  // its expected wait exceeds what the request may wait.
  absl::StatusOr<Submitted> Submit(const RouteRequest& request, DispatchCallback on_dispatch);
  // True when the request was still waiting (it is dropped and its callback never runs).
  bool Cancel(uint64_t ticket);
  // Frees the slot of a dispatched request.
  void Release(const RouteTarget& target);
  void Pump();

  int running(const std::string& model) const;
  int waiting(const std::string& model) const;

 private:
  struct Waiting {
    RouteRequest request;
    DispatchCallback on_dispatch;
    absl::Time enqueued;
    absl::Time leave_by;  // min(deadline, enqueued + max_queue_wait)
  };
  // Mean time from dispatch to release of a model's streams.
  struct StreamTime {
    double mean_seconds = 0;
    int samples = 0;
  };
  // Queue order: priority descending, then ticket (arrival) ascending.
  using QueueKey = std::tuple<int32_t, uint64_t>;  // (-priority, ticket)
  struct Session {
    GroupKey group;
    absl::Time last_used;
  };
  struct Decision {
    DispatchCallback callback;
    absl::StatusOr<RouteTarget> result;
    uint64_t ticket;
  };

  int Capacity(const GroupStatus& g) const;
  // Dispatches what it can of `model`'s queue; fills `decisions`.
  void PumpModelLocked(const std::string& model, std::vector<Decision>* decisions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The group for `request` among `ready`, or nullopt to keep waiting.
  std::optional<size_t> PickLocked(const RouteRequest& request,
                                   const std::vector<GroupStatus>& ready, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateGaugesLocked(const std::string& model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the requests of `model`'s queue that may wait no longer; fills `decisions`.
  void ExpireLocked(const std::string& model, absl::Time now, std::vector<Decision>* decisions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why the request queued under `key` cannot be served in time, or "" (no estimate yet, or the
  // estimate fits).
  std::string ShedReasonLocked(const std::string& model, const QueueKey& key, absl::Time now,
                               const std::vector<GroupStatus>& ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NoReplicaMessage(const std::string& model) const;

  const Options options_;
  const Membership& membership_;
  const Clock& clock_;
  CoordinatorMetrics& metrics_;

  mutable absl::Mutex mu_;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, std::map<QueueKey, Waiting>> queues_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::pair<std::string, QueueKey>> tickets_ ABSL_GUARDED_BY(mu_);
  std::map<GroupKey, int> open_ ABSL_GUARDED_BY(mu_);  // streams open per group
  std::map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> unready_since_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, StreamTime> stream_time_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_ROUTER_H_
