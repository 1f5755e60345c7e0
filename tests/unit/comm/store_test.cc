#include "ops/base/store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/subprocess.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::comm {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

TEST(InProcessStoreTest, WaitSeesValueSetByAnotherThread) {
  InProcessStore store;
  std::thread t([&] {
    absl::SleepFor(absl::Milliseconds(20));
    ASSERT_OK(store.Set("addr/0", "hello"));
  });
  ASSERT_OK_AND_ASSIGN(std::string v, store.Wait("addr/0", absl::Seconds(5)));
  EXPECT_EQ(v, "hello");
  t.join();
}

TEST(InProcessStoreTest, WaitTimesOutNamingTheKey) {
  InProcessStore store;
  EXPECT_THAT(store.Wait("never", absl::Milliseconds(20)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("'never'")));
}

TEST(FileStoreTest, ValueCrossesProcesses) {
  const std::string dir = testing::MakeTempDir();
  ASSERT_OK_AND_ASSIGN(Subprocess child, Subprocess::Fork([&] {
                         FileStore store(dir);
                         absl::SleepFor(absl::Milliseconds(30));
                         return store.Set("group/rank_1", std::string("a\0b", 3)).ok() ? 0 : 1;
                       }));
  FileStore store(dir);
  ASSERT_OK_AND_ASSIGN(std::string v, store.Wait("group/rank_1", absl::Seconds(10)));
  EXPECT_EQ(v, std::string("a\0b", 3));
  child.Wait();
  EXPECT_EQ(child.exit_code(), 0);
  EXPECT_THAT(store.Wait("missing", absl::Milliseconds(10)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("missing")));
}

TEST(PrefixStoreTest, KeysAreNamespaced) {
  InProcessStore base;
  PrefixStore a("g0", base), b("g1", base);
  ASSERT_OK(a.Set("k", "zero"));
  ASSERT_OK(b.Set("k", "one"));
  ASSERT_OK_AND_ASSIGN(std::string v0, base.Wait("g0/k", absl::Seconds(1)));
  ASSERT_OK_AND_ASSIGN(std::string v1, b.Wait("k", absl::Seconds(1)));
  EXPECT_EQ(v0, "zero");
  EXPECT_EQ(v1, "one");
}

}  // namespace
}  // namespace tpserve::comm
