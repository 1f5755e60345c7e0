#include "coordinator/rendezvous_store.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

TEST(RendezvousStoreTest, BlockingWaitSeesALaterSet) {
  RendezvousStore store;
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_OK(store.Set("group/m/g/control", "127.0.0.1:5"));
  });
  ASSERT_OK_AND_ASSIGN(std::string value, store.Wait("group/m/g/control", absl::Seconds(5)));
  EXPECT_EQ(value, "127.0.0.1:5");
  setter.join();
}

TEST(RendezvousStoreTest, WaitTimesOutNamingTheKey) {
  RendezvousStore store;
  EXPECT_THAT(store.Wait("k1", absl::Milliseconds(10)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("'k1'")));
}

TEST(RendezvousStoreTest, AsyncWaitCompletesOnceOnSetTimeoutOrCancel) {
  RendezvousStore store;
  absl::Mutex mu;
  std::vector<absl::StatusOr<std::string>> got;
  auto record = [&](absl::StatusOr<std::string> v) {
    absl::MutexLock lock(&mu);
    got.push_back(std::move(v));
  };
  store.WaitAsync("a", absl::Seconds(10), record);
  store.WaitAsync("b", absl::Milliseconds(100), record);
  const uint64_t c = store.WaitAsync("c", absl::Seconds(10), record);
  EXPECT_EQ(store.pending_waits(), 3u);
  ASSERT_OK(store.Set("a", "va"));
  store.CancelWait(c);
  store.CancelWait(c);  // no second callback
  ASSERT_TRUE(testing::WaitFor([&] {
    absl::MutexLock lock(&mu);
    return got.size() == 3;
  }));
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(got[0].ok());
  EXPECT_EQ(*got[0], "va");
  EXPECT_THAT(got[1], StatusIs(absl::StatusCode::kCancelled, HasSubstr("'c'")));
  EXPECT_THAT(got[2], StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("'b'")));
  EXPECT_EQ(store.pending_waits(), 0u);
}

TEST(RendezvousStoreTest, AsyncWaitOnAnExistingKeyAnswersAtOnce) {
  RendezvousStore store;
  ASSERT_OK(store.Set("k", "v"));
  std::string value;
  store.WaitAsync("k", absl::Seconds(1), [&](absl::StatusOr<std::string> v) { value = *v; });
  EXPECT_EQ(value, "v");
}

TEST(RendezvousStoreTest, LimitsAreEnforced) {
  RendezvousStore store;
  EXPECT_THAT(store.Set("", "v"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store.Set("k", std::string(RendezvousStore::kMaxValueBytes + 1, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'k'")));
}

TEST(RendezvousStoreTest, DestructionEndsPendingWaits) {
  absl::Status got;
  {
    RendezvousStore store;
    store.WaitAsync("k", absl::Seconds(60),
                    [&](absl::StatusOr<std::string> v) { got = v.status(); });
  }
  EXPECT_THAT(got, StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace tpserve::coordinator
