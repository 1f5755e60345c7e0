#include "coordinator/membership.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace cpb = ::tpserve::cluster::v1;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

WorkerRegistration Reg(const std::string& id, const std::string& group, int rank, int world) {
  WorkerRegistration r;
  r.worker_id = id;
  r.address = id + ":1";
  r.assignment = testing::MakeAssignment("m", "/models/m", group, rank, world);
  return r;
}

cpb::ReplicaLoad Load(int running, int max) {
  cpb::ReplicaLoad l;
  l.set_running_sequences(running);
  l.set_max_sequences(max);
  return l;
}

class MembershipTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  Membership members_{absl::Seconds(1), clock_};
};

TEST_F(MembershipTest, GroupIsReadyWhenAllRanksLiveAndLeaderReady) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 2)));
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kIncomplete);
  EXPECT_THAT(members_.Group({"m", "g"})->detail, HasSubstr("rank 1"));
  ASSERT_OK(members_.Register(Reg("b", "g", 1, 2)));
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kLoading);
  ASSERT_TRUE(members_.Heartbeat("b", cpb::WORKER_STATE_READY, "", {}));
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kLoading);
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", Load(1, 8)));
  std::optional<GroupStatus> g = members_.Group({"m", "g"});
  EXPECT_TRUE(g->ready());
  EXPECT_EQ(g->leader_address, "a:1");
  EXPECT_EQ(g->load.max_sequences(), 8);
  EXPECT_EQ(members_.ReadyGroups("m").size(), 1u);
  EXPECT_TRUE(members_.ReadyGroups("other").empty());
}

TEST_F(MembershipTest, SilentWorkerIsOutOfRoutingWithinTwoHeartbeatPeriods) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 2)));
  ASSERT_OK(members_.Register(Reg("b", "g", 1, 2)));
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
  ASSERT_TRUE(members_.Heartbeat("b", cpb::WORKER_STATE_READY, "", {}));
  ASSERT_EQ(members_.ReadyGroups("m").size(), 1u);
  // "a" keeps heart-beating, "b" goes silent.
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Milliseconds(700));
    ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
  }
  // 2.1 s since b's last heartbeat (> 2 periods): out.
  EXPECT_TRUE(members_.ReadyGroups("m").empty());
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kIncomplete);
  EXPECT_FALSE(members_.IsLive("b"));
  // Its next heartbeat is refused: it must register again.
  EXPECT_FALSE(members_.Heartbeat("b", cpb::WORKER_STATE_READY, "", {}));
  ASSERT_OK(members_.Register(Reg("b", "g", 1, 2)));
  ASSERT_TRUE(members_.Heartbeat("b", cpb::WORKER_STATE_READY, "", {}));
  EXPECT_EQ(members_.ReadyGroups("m").size(), 1u);
}

TEST_F(MembershipTest, JustUnderTheLeaseStaysIn) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 1)));
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
  clock_.Advance(absl::Milliseconds(1999));
  EXPECT_EQ(members_.ReadyGroups("m").size(), 1u);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(members_.ReadyGroups("m").empty());
}

TEST_F(MembershipTest, SweepDropsExpiredWorkersAndEmptyGroups) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 1)));
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(members_.SweepExpired(), 1);
  EXPECT_TRUE(members_.Groups().empty());
  EXPECT_FALSE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
}

TEST_F(MembershipTest, LiveRankCannotBeTakenButExpiredOneCan) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 1)));
  EXPECT_THAT(members_.Register(Reg("b", "g", 0, 1)),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("rank 0 of group m/g is already held by worker a")));
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK(members_.Register(Reg("b", "g", 0, 1)));
  EXPECT_FALSE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
}

TEST_F(MembershipTest, WorldSizeMustAgree) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 2)));
  EXPECT_THAT(members_.Register(Reg("b", "g", 1, 4)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("world size 2")));
  EXPECT_THAT(members_.Register(Reg("c", "g", 3, 2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rank 3")));
}

TEST_F(MembershipTest, FailedGroupComesBackWhenItsLeaderReportsReady) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 1)));
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
  members_.MarkGroupFailed({"m", "g"}, "stream failed");
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kFailed);
  EXPECT_EQ(members_.Group({"m", "g"})->detail, "stream failed");
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_LOADING, "re-forming", {}));
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kFailed);
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
  EXPECT_TRUE(members_.Group({"m", "g"})->ready());
}

TEST_F(MembershipTest, ARankReportingFailedFailsTheGroup) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 2)));
  ASSERT_OK(members_.Register(Reg("b", "g", 1, 2)));
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
  ASSERT_TRUE(members_.Heartbeat("b", cpb::WORKER_STATE_FAILED, "collective timed out", {}));
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kFailed);
  EXPECT_THAT(members_.Group({"m", "g"})->detail, HasSubstr("rank 1: collective timed out"));
  const auto counts = members_.WorkerStateCounts();
  EXPECT_EQ(counts.at("ready"), 1);
  EXPECT_EQ(counts.at("failed"), 1);
}

TEST_F(MembershipTest, MinReportedContextComesFromReadyLeaders) {
  ASSERT_OK(members_.Register(Reg("a", "g1", 0, 1)));
  ASSERT_OK(members_.Register(Reg("b", "g2", 0, 1)));
  cpb::ReplicaLoad l1, l2;
  l1.set_max_context(2048);
  l2.set_max_context(1024);
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", l1));
  EXPECT_EQ(members_.MinReportedContext("m"), 2048);
  ASSERT_TRUE(members_.Heartbeat("b", cpb::WORKER_STATE_READY, "", l2));
  EXPECT_EQ(members_.MinReportedContext("m"), 1024);
}

TEST_F(MembershipTest, ADrainingLeaderTakesItsGroupOutOfRoutingWithoutFailingIt) {
  ASSERT_OK(members_.Register(Reg("a", "g", 0, 2)));
  ASSERT_OK(members_.Register(Reg("b", "g", 1, 2)));
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_READY, "", {}));
  ASSERT_TRUE(members_.Heartbeat("b", cpb::WORKER_STATE_READY, "", {}));
  EXPECT_EQ(members_.ReadyGroups("m").size(), 1u);
  ASSERT_TRUE(members_.Heartbeat("a", cpb::WORKER_STATE_DRAINING, "draining: 30s", {}));
  EXPECT_TRUE(members_.ReadyGroups("m").empty());
  EXPECT_EQ(members_.Group({"m", "g"})->state, GroupState::kDraining);
  EXPECT_STREQ(GroupStateName(GroupState::kDraining), "draining");
  EXPECT_EQ(members_.Group({"m", "g"})->detail, "draining: 30s");
  EXPECT_EQ(members_.WorkerStateCounts().at("draining"), 1);
}

}  // namespace
}  // namespace tpserve::coordinator
