// NCCL communicator: compiled and linked everywhere, run only where a CUDA device exists (it
// skips on this project's CPU build machines). World 1 runs on one GPU; world 2 needs two.
#include "ops/comm/nccl/nccl_communicator.h"

#include <cuda_runtime_api.h>

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::comm {
namespace {

using testing::StatusIs;

std::vector<float> RoundTrip(Communicator& comm, const std::vector<float>& host, int op) {
  void* dev = nullptr;
  EXPECT_EQ(cudaMalloc(&dev, host.size() * sizeof(float)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(dev, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
            cudaSuccess);
  ops::TensorView v(dev, DType::kF32, ops::Shape{static_cast<int64_t>(host.size())});
  EXPECT_OK(op == 0 ? comm.AllReduce(v, ReduceOp::kSum) : comm.Broadcast(v, 0));
  std::vector<float> out(host.size());
  EXPECT_EQ(cudaMemcpy(out.data(), dev, host.size() * sizeof(float), cudaMemcpyDeviceToHost),
            cudaSuccess);
  cudaFree(dev);
  return out;
}

TEST(NcclCommunicatorTest, RefusesWithoutADevice) {
  if (CudaDeviceCount() > 0) GTEST_SKIP() << "a CUDA device is present";
  InProcessStore store;
  EXPECT_THAT(CreateNcclCommunicator(store, 0, 1, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(NcclCommunicatorTest, WorldOfOneIsIdentity) {
  if (CudaDeviceCount() < 1) GTEST_SKIP() << "no CUDA device";
  InProcessStore store;
  ASSERT_OK_AND_ASSIGN(auto comm, CreateNcclCommunicator(store, 0, 1, {}));
  const std::vector<float> x = {1.5f, -2.0f, 3.25f};
  EXPECT_EQ(RoundTrip(*comm, x, 0), x);
  EXPECT_EQ(RoundTrip(*comm, x, 1), x);
  EXPECT_OK(comm->Barrier());
}

TEST(NcclCommunicatorTest, TwoDevicesSumInClosedForm) {
  if (CudaDeviceCount() < 2) GTEST_SKIP() << "needs two CUDA devices";
  InProcessStore store;
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      NcclOptions o;
      o.device_index = r;
      ASSERT_OK_AND_ASSIGN(auto comm, CreateNcclCommunicator(store, r, 2, o));
      const std::vector<float> x(256, static_cast<float>(r + 1));
      for (float v : RoundTrip(*comm, x, 0)) ASSERT_EQ(v, 3.0f);
    });
  }
  for (auto& t : ranks) t.join();
}

}  // namespace
}  // namespace tpserve::comm
