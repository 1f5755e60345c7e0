#include "coordinator/router.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace cpb = ::tpserve::cluster::v1;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : metrics_(registry_) {}

  // A ready single-rank group of model "m" with `max` slots and reported load.
  void AddGroup(const std::string& group, int max, int running = 0) {
    WorkerRegistration r;
    r.worker_id = "w-" + group;
    r.address = group + ":1";
    r.assignment = testing::MakeAssignment("m", "/m", group);
    ASSERT_OK(members_.Register(r));
    Beat(group, cpb::WORKER_STATE_READY, max, running);
  }
  void Beat(const std::string& group, cpb::WorkerState state, int max, int running = 0) {
    cpb::ReplicaLoad load;
    load.set_max_sequences(max);
    load.set_running_sequences(running);
    ASSERT_TRUE(members_.Heartbeat("w-" + group, state, "", load));
  }
  std::unique_ptr<Router> MakeRouter(int max_queue = 2,
                                     absl::Duration max_queue_wait = absl::InfiniteDuration()) {
    Router::Options o;
    o.max_queue = max_queue;
    o.max_queue_wait = max_queue_wait;
    o.session_ttl = absl::Minutes(1);
    o.unready_grace = absl::Seconds(2);
    return std::make_unique<Router>(o, members_, clock_, metrics_);
  }
  // Submits and expects an immediate dispatch; returns the group.
  std::string Dispatch(Router& router, const std::string& session = "", int priority = 0) {
    absl::StatusOr<Router::Submitted> s =
        router.Submit({"m", session, priority},
                      [](absl::StatusOr<RouteTarget>) { ADD_FAILURE() << "queued unexpectedly"; });
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok() || !s->target.has_value()) return "(queued)";
    return s->target->group.group;
  }

  FakeClock clock_;
  Membership members_{absl::Hours(1), clock_};  // leases outlast every test here
  prometheus::Registry registry_;
  CoordinatorMetrics metrics_;
};

TEST_F(RouterTest, LeastLoadedGroupWins) {
  AddGroup("g1", 4, /*running=*/3);
  AddGroup("g2", 4, /*running=*/1);
  auto router = MakeRouter();
  EXPECT_EQ(Dispatch(*router), "g2");
  // The router's own open streams count too: g2 now has max(1 reported, 1 open) / 4.
  EXPECT_EQ(Dispatch(*router), "g2");  // 1/4 vs 3/4
  EXPECT_EQ(Dispatch(*router), "g2");  // 2/4 vs 3/4
  EXPECT_EQ(router->running("m"), 3);
}

TEST_F(RouterTest, SessionSticksToItsGroupWhileReady) {
  AddGroup("g1", 8);
  AddGroup("g2", 8);
  auto router = MakeRouter();
  const std::string first = Dispatch(*router, "chat-1");
  // Load the sticky group more than the other: affinity still wins.
  for (int i = 0; i < 3; ++i) Dispatch(*router, "other-" + std::to_string(i));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Dispatch(*router, "chat-1"), first);
  // The sticky group goes unready: the session moves.
  Beat(first, cpb::WORKER_STATE_FAILED, 8);
  const std::string moved = Dispatch(*router, "chat-1");
  EXPECT_NE(moved, first);
  Beat(first, cpb::WORKER_STATE_READY, 8);
  EXPECT_EQ(Dispatch(*router, "chat-1"), moved);
}

TEST_F(RouterTest, SessionsExpire) {
  AddGroup("g1", 8);
  AddGroup("g2", 8);
  auto router = MakeRouter();
  const std::string first = Dispatch(*router, "s");
  const std::string other = first == "g1" ? "g2" : "g1";
  // Make the other group the least loaded one, then let the session expire.
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Dispatch(*router, "s"), first);
  clock_.Advance(absl::Seconds(30));
  Beat("g1", cpb::WORKER_STATE_READY, 8);
  Beat("g2", cpb::WORKER_STATE_READY, 8);
  EXPECT_EQ(Dispatch(*router, "s"), first);  // used 0 s ago per the TTL
  clock_.Advance(absl::Seconds(61));
  Beat("g1", cpb::WORKER_STATE_READY, 8);
  Beat("g2", cpb::WORKER_STATE_READY, 8);
  router->Pump();
  EXPECT_EQ(Dispatch(*router, "s"), other);
}

TEST_F(RouterTest, NoReadyReplicaIsUnavailableNamingTheModel) {
  auto router = MakeRouter();
  EXPECT_THAT(router->Submit({"m", "", 0}, nullptr).status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("model 'm'"), HasSubstr("no worker serves it"))));
  WorkerRegistration r;
  r.worker_id = "w";
  r.address = "x:1";
  r.assignment = testing::MakeAssignment("m", "/m", "g", 0, 2);
  ASSERT_OK(members_.Register(r));
  EXPECT_THAT(router->Submit({"m", "", 0}, nullptr).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("group g is incomplete")));
}

TEST_F(RouterTest, QueueIsBoundedAndServedByPriority) {
  AddGroup("g1", 1);
  auto router = MakeRouter(/*max_queue=*/2);
  ASSERT_EQ(Dispatch(*router), "g1");
  std::vector<std::string> order;
  auto record = [&](const std::string& name) {
    return [&order, name](absl::StatusOr<RouteTarget> t) {
      EXPECT_TRUE(t.ok());
      order.push_back(name);
    };
  };
  ASSERT_OK_AND_ASSIGN(Router::Submitted low, router->Submit({"m", "", 0}, record("low")));
  ASSERT_FALSE(low.target.has_value());
  ASSERT_OK_AND_ASSIGN(Router::Submitted high, router->Submit({"m", "", 5}, record("high")));
  ASSERT_FALSE(high.target.has_value());
  EXPECT_EQ(router->waiting("m"), 2);
  EXPECT_THAT(router->Submit({"m", "", 9}, record("over")).status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("model 'm'"), HasSubstr("--max-queue"), HasSubstr("2"))));
  const RouteTarget slot{{"m", "g1"}, "g1:1"};
  router->Release(slot);
  router->Release(slot);
  EXPECT_THAT(order, ::testing::ElementsAre("high", "low"));
  EXPECT_EQ(router->waiting("m"), 0);
  EXPECT_EQ(router->running("m"), 1);
}

TEST_F(RouterTest, CancelledWaiterIsNeverDispatched) {
  AddGroup("g1", 1);
  auto router = MakeRouter();
  ASSERT_EQ(Dispatch(*router), "g1");
  bool called = false;
  ASSERT_OK_AND_ASSIGN(
      Router::Submitted s,
      router->Submit({"m", "", 0}, [&](absl::StatusOr<RouteTarget>) { called = true; }));
  EXPECT_TRUE(router->Cancel(s.ticket));
  EXPECT_FALSE(router->Cancel(s.ticket));
  router->Release({{"m", "g1"}, "g1:1"});
  EXPECT_FALSE(called);
  EXPECT_EQ(router->running("m"), 0);
}

TEST_F(RouterTest, WaitersFailAfterTheGraceWithoutReadyGroups) {
  AddGroup("g1", 1);
  auto router = MakeRouter();
  ASSERT_EQ(Dispatch(*router), "g1");
  absl::Status got;
  ASSERT_OK_AND_ASSIGN(
      Router::Submitted s,
      router->Submit({"m", "", 0}, [&](absl::StatusOr<RouteTarget> t) { got = t.status(); }));
  (void)s;
  Beat("g1", cpb::WORKER_STATE_FAILED, 1);
  router->Pump();
  EXPECT_TRUE(got.ok());  // within the grace: still waiting
  clock_.Advance(absl::Seconds(2));
  router->Pump();
  EXPECT_THAT(got, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("group g1 is failed")));
}

TEST_F(RouterTest, NewlyReadyGroupTakesWaiters) {
  AddGroup("g1", 1);
  auto router = MakeRouter();
  ASSERT_EQ(Dispatch(*router), "g1");
  std::string got;
  ASSERT_OK(
      router->Submit({"m", "", 0}, [&](absl::StatusOr<RouteTarget> t) { got = t->group.group; })
          .status());
  AddGroup("g2", 1);
  router->Pump();
  EXPECT_EQ(got, "g2");
}

// Overload is shed, not queued forever: a waiting request leaves when its deadline passes, or
// after --max-queue-wait-ms, at the next Pump (the coordinator pumps every housekeeping tick).
TEST_F(RouterTest, WaitersLeaveTheQueueWhenTheirDeadlineOrTheQueueWaitLimitPasses) {
  AddGroup("g1", 1);
  auto router = MakeRouter(/*max_queue=*/8, /*max_queue_wait=*/absl::Seconds(10));
  ASSERT_EQ(Dispatch(*router), "g1");
  absl::Status with_deadline, without;
  bool with_deadline_called = false, without_called = false;
  ASSERT_OK(router
                ->Submit({"m", "", 0, clock_.Now() + absl::Seconds(3)},
                         [&](absl::StatusOr<RouteTarget> t) {
                           with_deadline_called = true;
                           with_deadline = t.status();
                         })
                .status());
  ASSERT_OK(router
                ->Submit({"m", "", 0},
                         [&](absl::StatusOr<RouteTarget> t) {
                           without_called = true;
                           without = t.status();
                         })
                .status());
  EXPECT_EQ(router->waiting("m"), 2);
  clock_.Advance(absl::Milliseconds(2999));
  router->Pump();
  EXPECT_FALSE(with_deadline_called);
  clock_.Advance(absl::Milliseconds(1));
  router->Pump();
  ASSERT_TRUE(with_deadline_called);
  EXPECT_THAT(with_deadline,
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr("deadline passed after 3.0 s"), HasSubstr("model 'm'"))));
  EXPECT_FALSE(without_called);
  EXPECT_EQ(router->waiting("m"), 1);
  clock_.Advance(absl::Seconds(7));
  router->Pump();
  ASSERT_TRUE(without_called);
  EXPECT_THAT(without, StatusIs(absl::StatusCode::kResourceExhausted,
                                AllOf(HasSubstr("waited 10.0 s"), HasSubstr("--max-queue-wait-ms"),
                                      HasSubstr("10000 ms"))));
  EXPECT_EQ(router->waiting("m"), 0);
  // The slot holder was never disturbed, and its release serves nobody stale.
  EXPECT_EQ(router->running("m"), 1);
  router->Release({{"m", "g1"}, "g1:1"});
  EXPECT_EQ(router->running("m"), 0);
}

// Admission accounts for the work already queued: with streams taking 2 s on one slot, a request
// with 4 s of expected wait and 1 s of deadline left is refused at once, saying the estimate; one
// that can wait is queued.
TEST_F(RouterTest, ARequestThatCannotBeServedBeforeItsDeadlineIsRefusedAtOnce) {
  AddGroup("g1", 1);
  auto router = MakeRouter(/*max_queue=*/8);
  // Four finished streams of 2 s each: the mean stream time is 2 s (the estimate needs 4).
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(Router::Submitted s,
                         router->Submit({"m", "", 0}, [](absl::StatusOr<RouteTarget>) {}));
    ASSERT_TRUE(s.target.has_value());
    clock_.Advance(absl::Seconds(2));
    router->Release(*s.target);
  }
  ASSERT_EQ(Dispatch(*router), "g1");  // the slot is busy
  // First in the queue: expected (0 + 1) x 2 s / 1 slot = 2 s, deadline in 10 s: queued.
  ASSERT_OK_AND_ASSIGN(Router::Submitted first,
                       router->Submit({"m", "", 0, clock_.Now() + absl::Seconds(10)},
                                      [](absl::StatusOr<RouteTarget>) {}));
  EXPECT_FALSE(first.target.has_value());
  // Second: expected (1 + 1) x 2 s = 4 s, deadline in 1 s: refused now.
  EXPECT_THAT(router
                  ->Submit({"m", "", 0, clock_.Now() + absl::Seconds(1)},
                           [](absl::StatusOr<RouteTarget>) { ADD_FAILURE() << "was queued"; })
                  .status(),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("expected wait for a replica slot is 4.0 s"),
                             HasSubstr("1 requests ahead"), HasSubstr("2.0 s per stream"),
                             HasSubstr("its deadline"))));
  EXPECT_EQ(router->waiting("m"), 1);
  // A higher priority goes ahead of the queue: 2 s expected, fits in 3 s.
  ASSERT_OK_AND_ASSIGN(Router::Submitted urgent,
                       router->Submit({"m", "", 5, clock_.Now() + absl::Seconds(3)},
                                      [](absl::StatusOr<RouteTarget>) {}));
  EXPECT_FALSE(urgent.target.has_value());
  // Without a deadline (and no queue-wait limit) nothing is refused by estimate.
  ASSERT_OK(router->Submit({"m", "", 0}, [](absl::StatusOr<RouteTarget>) {}).status());
  EXPECT_EQ(router->waiting("m"), 3);
}

}  // namespace
}  // namespace tpserve::coordinator
