// Softmax: large magnitudes (the max subtraction), -inf entries, a scale, in place.
#include <cmath>
#include <cstdint>
#include <limits>
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

TEST(SoftmaxTest, MatchesReference) {
  constexpr int64_t kN = 6, kD = 257;
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    for (bool in_place : {false, true}) {
      std::vector<float> x = testing::Random(kN * kD, 8, -50.0f, 50.0f);
      x[3] = 1000.0f;  // exp overflows without the max subtraction
      x[kD + 5] = -std::numeric_limits<float>::infinity();  // a masked entry
      const std::vector<double> want = reference::Softmax(testing::ToF64(x), kD, 0.25);
      std::vector<float> out(x.size());
      SoftmaxArgs args;
      args.x = ConstTensorView(x.data(), DType::kF32, {kN, kD});
      args.out = TensorView(in_place ? x.data() : out.data(), DType::kF32, {kN, kD});
      args.scale = 0.25f;
      ASSERT_OK(backend->Softmax(args));
      EXPECT_TRUE(testing::AllClose(in_place ? x : out, want, 1e-5, 1e-30))
          << "threads=" << threads << " in_place=" << in_place;
    }
  }
}

TEST(SoftmaxTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(64), out(64);
  SoftmaxArgs a;
  a.x = ConstTensorView(x.data(), DType::kF32, {64});
  a.out = TensorView(out.data(), DType::kF32, {64});
  EXPECT_THAT(backend->Softmax(a), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("x must be f32[n, d], got f32[64]")));
}

}  // namespace
}  // namespace tpserve::ops
