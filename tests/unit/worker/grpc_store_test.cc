// GrpcStore against a real gRPC coordinator store on loopback.
#include "worker/grpc_store.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/worker/fake_coordinator.h"
#include "worker/coordinator_channel.h"

namespace tpserve::worker {
namespace {

using testing::FakeCoordinator;
using ::testing::HasSubstr;
using tpserve::testing::StatusIs;

TEST(GrpcStoreTest, SetThenWaitAndWaitThenSet) {
  auto coordinator = FakeCoordinator::Start({});
  ASSERT_NE(coordinator, nullptr);
  GrpcStore store(MakeCoordinatorChannel(coordinator->address()));
  ASSERT_OK(store.Set("group/m/0/control", "127.0.0.1:1234"));
  ASSERT_OK_AND_ASSIGN(std::string v, store.Wait("group/m/0/control", absl::Seconds(5)));
  EXPECT_EQ(v, "127.0.0.1:1234");
  // Binary values survive.
  const std::string bytes("a\0b\xff", 4);
  ASSERT_OK(store.Set("k", bytes));
  EXPECT_EQ(store.Wait("k", absl::Seconds(1)).value(), bytes);

  std::thread setter([&] {
    absl::SleepFor(absl::Milliseconds(100));
    (void)store.Set("late", "x");
  });
  EXPECT_EQ(store.Wait("late", absl::Seconds(10)).value(), "x");
  setter.join();
}

TEST(GrpcStoreTest, WaitTimesOutNamingTheKeyAfterAskingInSlices) {
  auto coordinator = FakeCoordinator::Start({});
  ASSERT_NE(coordinator, nullptr);
  GrpcStoreOptions options;
  options.wait_slice = absl::Milliseconds(50);
  GrpcStore store(MakeCoordinatorChannel(coordinator->address()), options);
  const absl::Time start = absl::Now();
  EXPECT_THAT(store.Wait("never", absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("'never'")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_GE(coordinator->store_waits(), 3);
}

TEST(GrpcStoreTest, WaitRidesOutACoordinatorThatIsBrieflyDown) {
  // Find a free port, then start the coordinator on it only after the wait began.
  int port = 0;
  {
    auto probe = FakeCoordinator::Start({});
    ASSERT_NE(probe, nullptr);
    port = probe->port();
  }
  GrpcStore store(MakeCoordinatorChannel("127.0.0.1:" + std::to_string(port)));
  std::unique_ptr<FakeCoordinator> coordinator;
  std::thread starter([&] {
    absl::SleepFor(absl::Milliseconds(400));
    coordinator = FakeCoordinator::Start({}, port);
    if (coordinator) (void)coordinator->store().Set("k", "v");
  });
  absl::StatusOr<std::string> v = store.Wait("k", absl::Seconds(10));
  starter.join();
  ASSERT_NE(coordinator, nullptr);
  ASSERT_OK(v.status());
  EXPECT_EQ(*v, "v");
}

TEST(GrpcStoreTest, SetFailsAfterItsTimeoutWhenNobodyAnswers) {
  GrpcStoreOptions options;
  options.set_timeout = absl::Milliseconds(200);
  GrpcStore store(MakeCoordinatorChannel("127.0.0.1:1"), options);
  EXPECT_THAT(store.Set("k", "v"), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("'k'")));
}

}  // namespace
}  // namespace tpserve::worker
