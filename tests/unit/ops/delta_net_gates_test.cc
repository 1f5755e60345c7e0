// DeltaNetGates: both softplus branches (threshold 20), extreme b for the sigmoid.
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reference/reference_ops.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/ops/ops_test_util.h"

namespace tpserve::ops {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

TEST(DeltaNetGatesTest, MatchesReference) {
  constexpr int64_t kN = 11, kHeads = 6;
  std::vector<float> a = testing::Random(kN * kHeads, 31, -30.0f, 30.0f);
  std::vector<float> b = testing::Random(kN * kHeads, 32, -40.0f, 40.0f);
  a[0] = 19.0f;  // a + dt_bias just around the softplus threshold
  a[1] = 21.0f;
  const std::vector<float> a_log = testing::Random(kHeads, 33, -2.0f, 2.0f);
  std::vector<float> dt_bias = testing::Random(kHeads, 34, -1.0f, 1.0f);
  dt_bias[0] = dt_bias[1] = 0.5f;
  std::vector<double> want_g, want_beta;
  reference::DeltaNetGates(testing::ToF64(a), testing::ToF64(b), kHeads, testing::ToF64(a_log),
                           testing::ToF64(dt_bias), want_g, want_beta);
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    std::vector<float> g(a.size()), beta(a.size());
    DeltaNetGatesArgs args;
    args.a = ConstTensorView(a.data(), DType::kF32, {kN, kHeads});
    args.b = ConstTensorView(b.data(), DType::kF32, {kN, kHeads});
    args.a_log = ConstTensorView(a_log.data(), DType::kF32, {kHeads});
    args.dt_bias = ConstTensorView(dt_bias.data(), DType::kF32, {kHeads});
    args.g = TensorView(g.data(), DType::kF32, {kN, kHeads});
    args.beta = TensorView(beta.data(), DType::kF32, {kN, kHeads});
    ASSERT_OK(backend->DeltaNetGates(args));
    EXPECT_TRUE(testing::AllClose(g, want_g, 2e-6, 1e-30));
    EXPECT_TRUE(testing::AllClose(beta, want_beta, 2e-6, 1e-30));
    for (float v : g) EXPECT_LE(v, 0.0f);
  }
}

TEST(DeltaNetGatesTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> a(12), b(12), a_log(4), dt(4), g(12), beta(12);
  DeltaNetGatesArgs args;
  args.a = ConstTensorView(a.data(), DType::kF32, {3, 4});
  args.b = ConstTensorView(b.data(), DType::kF32, {3, 4});
  args.a_log = ConstTensorView(a_log.data(), DType::kF32, {3});
  args.dt_bias = ConstTensorView(dt.data(), DType::kF32, {4});
  args.g = TensorView(g.data(), DType::kF32, {3, 4});
  args.beta = TensorView(beta.data(), DType::kF32, {3, 4});
  EXPECT_THAT(backend->DeltaNetGates(args),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a_log must be f32[heads=4], got f32[3]")));
}

}  // namespace
}  // namespace tpserve::ops
