// Both CPU communicators (Gloo over TCP, shared memory) with closed-form expected values: ranks
// as threads, and ranks as real processes (Subprocess::Fork) rendezvousing through a FileStore; a
// SIGKILLed peer fails the survivor fast.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/subprocess.h"
#include "ops/comm/gloo/gloo_communicator.h"
#include "ops/comm/shm/shm_communicator.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::comm {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

enum class Transport { kGloo, kShm };

absl::StatusOr<std::unique_ptr<Communicator>> Create(Transport t, Store& store, int rank, int world,
                                                     absl::Duration timeout = absl::Seconds(30)) {
  if (t == Transport::kGloo) {
    GlooOptions o;
    o.collective_timeout = timeout;
    return CreateGlooCommunicator(store, rank, world, o);
  }
  ShmOptions o;
  o.collective_timeout = timeout;
  return CreateShmCommunicator(store, rank, world, o);
}

std::string Name(Transport t) { return t == Transport::kGloo ? "gloo" : "shm"; }

void RunRanks(int world, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) threads.emplace_back(body, r);
  for (auto& t : threads) t.join();
}

ops::TensorView View(std::vector<float>& v) {
  return ops::TensorView(v.data(), DType::kF32, ops::Shape{static_cast<int64_t>(v.size())});
}

class ThreadsTest : public ::testing::TestWithParam<std::tuple<Transport, int>> {};

TEST_P(ThreadsTest, CollectivesAreClosedForm) {
  const auto [transport, world] = GetParam();
  InProcessStore store;
  RunRanks(world, [&, transport = transport, world = world](int rank) {
    ASSERT_OK_AND_ASSIGN(auto comm, Create(transport, store, rank, world));
    EXPECT_EQ(comm->rank(), rank);
    EXPECT_EQ(comm->world_size(), world);
    // AllReduce sum of rank + i: world * i + world (world - 1) / 2, exact in f32.
    std::vector<float> data(1000);
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<float>(rank) + static_cast<float>(i);
    ASSERT_OK(comm->AllReduce(View(data), ReduceOp::kSum));
    for (size_t i = 0; i < data.size(); ++i) {
      ASSERT_EQ(data[i], static_cast<float>(world * static_cast<int>(i) + world * (world - 1) / 2));
    }
    // AllReduce max of (rank == i % world ? 100 : rank).
    std::vector<float> mx(16);
    for (size_t i = 0; i < mx.size(); ++i)
      mx[i] = static_cast<int>(i) % world == rank ? 100.0f : static_cast<float>(rank);
    ASSERT_OK(comm->AllReduce(View(mx), ReduceOp::kMax));
    for (float v : mx) ASSERT_EQ(v, 100.0f);
    // AllGather: rank r contributes [r, r, r]; out is 0,0,0,1,1,1,...
    std::vector<float> in(3, static_cast<float>(rank)), out(3 * static_cast<size_t>(world), -1.0f);
    ASSERT_OK(comm->AllGather(View(in), View(out)));
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<float>(i / 3));
    // Broadcast from the last rank.
    std::vector<float> b(5, static_cast<float>(rank));
    ASSERT_OK(comm->Broadcast(View(b), world - 1));
    for (float v : b) ASSERT_EQ(v, static_cast<float>(world - 1));
    ASSERT_OK(comm->Barrier());
    EXPECT_EQ(comm->sequence_number(), 5u);
  });
}

INSTANTIATE_TEST_SUITE_P(Worlds, ThreadsTest,
                         ::testing::Combine(::testing::Values(Transport::kGloo, Transport::kShm),
                                            ::testing::Values(1, 2, 4)),
                         [](const ::testing::TestParamInfo<std::tuple<Transport, int>>& p) {
                           return Name(std::get<0>(p.param)) + std::to_string(std::get<1>(p.param));
                         });

class CommunicatorTest : public ::testing::TestWithParam<Transport> {};

TEST_P(CommunicatorTest, BadArgumentsAreRefused) {
  InProcessStore store;
  EXPECT_THAT(Create(GetParam(), store, 2, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rank 2")));
  ASSERT_OK_AND_ASSIGN(auto comm, Create(GetParam(), store, 0, 1));
  std::vector<float> in(3), out(4);
  EXPECT_THAT(comm->AllGather(View(in), View(out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("AllGather")));
  std::vector<int32_t> ints(4);
  ops::TensorView iv(ints.data(), DType::kI32, ops::Shape{4});
  EXPECT_THAT(comm->AllReduce(iv, ReduceOp::kSum), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Two real processes: the child is rank 1; it checks its own results and reports by exit code.
TEST_P(CommunicatorTest, AllReduceAcrossProcesses) {
  const std::string dir = testing::MakeTempDir();
  auto body = [&](int rank) -> bool {
    FileStore store(dir);
    auto comm = Create(GetParam(), store, rank, 2);
    if (!comm.ok()) return false;
    std::vector<float> v(4096, static_cast<float>(rank + 1));
    if (!(*comm)->AllReduce(View(v), ReduceOp::kSum).ok()) return false;
    for (float x : v) {
      if (x != 3.0f) return false;
    }
    return true;
  };
  ASSERT_OK_AND_ASSIGN(Subprocess child, Subprocess::Fork([&] { return body(1) ? 0 : 1; }));
  EXPECT_TRUE(body(0));
  child.Wait();
  EXPECT_EQ(child.exit_code(), 0) << child.DescribeExit();
}

TEST_P(CommunicatorTest, KilledPeerFailsTheCollectiveInsteadOfHanging) {
  const std::string dir = testing::MakeTempDir();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_OK_AND_ASSIGN(Subprocess child, Subprocess::Fork([&] {
                         FileStore store(dir);
                         auto comm = Create(GetParam(), store, 1, 2);
                         char c = comm.ok() ? 'y' : 'n';
                         (void)!write(ready[1], &c, 1);
                         pause();  // until killed
                         return 0;
                       }));
  FileStore store(dir);
  ASSERT_OK_AND_ASSIGN(auto comm, Create(GetParam(), store, 0, 2, absl::Seconds(5)));
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  child.Kill();
  const absl::Time start = absl::Now();
  std::vector<float> v(1024, 1.0f);
  EXPECT_THAT(comm->AllReduce(View(v), ReduceOp::kSum),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("rank 0 of 2")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
  // Every later call fails at once.
  const absl::Time again = absl::Now();
  EXPECT_THAT(comm->Barrier(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - again, absl::Milliseconds(100));
}

INSTANTIATE_TEST_SUITE_P(Transports, CommunicatorTest,
                         ::testing::Values(Transport::kGloo, Transport::kShm),
                         [](const ::testing::TestParamInfo<Transport>& p) {
                           return Name(p.param);
                         });

// Tensors larger than a slot go through in chunks; the results stay closed-form.
TEST(ShmTest, LargeTensorsAreChunked) {
  InProcessStore store;
  ShmOptions options;
  options.slot_bytes = 256;  // 64 floats per chunk
  RunRanks(3, [&](int rank) {
    ASSERT_OK_AND_ASSIGN(auto comm, CreateShmCommunicator(store, rank, 3, options));
    std::vector<float> v(1000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i * (rank + 1));
    ASSERT_OK(comm->AllReduce(View(v), ReduceOp::kSum));
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<float>(6 * i));
    std::vector<float> in(100, static_cast<float>(rank)), out(300);
    ASSERT_OK(comm->AllGather(View(in), View(out)));
    for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<float>(i / 100));
  });
}

TEST(ShmTest, AbortFailsEveryRank) {
  InProcessStore store;
  RunRanks(2, [&](int rank) {
    ASSERT_OK_AND_ASSIGN(auto comm, CreateShmCommunicator(store, rank, 2, {}));
    ASSERT_OK(comm->Barrier());
    // Both ranks are past the barrier before rank 0 aborts.
    ASSERT_OK(store.Set(absl::StrCat("passed/", rank), "1"));
    ASSERT_OK(store.Wait(absl::StrCat("passed/", 1 - rank), absl::Seconds(5)).status());
    if (rank == 0) comm->Abort(absl::CancelledError("test"));
    ASSERT_OK(store.Set(absl::StrCat("aborted/", rank), "1"));
    ASSERT_OK(store.Wait("aborted/0", absl::Seconds(5)).status());
    EXPECT_THAT(comm->Barrier(), StatusIs(absl::StatusCode::kUnavailable));
  });
}

}  // namespace
}  // namespace tpserve::comm
