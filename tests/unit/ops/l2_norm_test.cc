// L2Norm: rank 2 and 3 (strided heads, the delta net's q/k), with a scale, in place.
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

TEST(L2NormTest, MatchesReference) {
  constexpr int64_t kN = 9, kHeads = 3, kDim = 128, kStride = 5 * kDim;  // heads 1..3 of 5
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    for (bool in_place : {false, true}) {
      std::vector<float> buf = testing::Random(kN * kStride, 3, -2.0f, 2.0f);
      buf[static_cast<size_t>(kDim)] = 0.0f;  // keep one row near zero: eps matters
      for (int64_t c = 0; c < kDim; ++c) buf[static_cast<size_t>(kDim + c)] = 1e-4f;
      std::vector<double> xs;
      for (int64_t t = 0; t < kN; ++t) {
        for (int64_t i = 0; i < kHeads * kDim; ++i)
          xs.push_back(buf[static_cast<size_t>(t * kStride + kDim + i)]);
      }
      const double scale = 1.0 / std::sqrt(128.0);
      const std::vector<double> want = reference::L2Norm(xs, kDim, 1e-6, scale);
      std::vector<float> out(static_cast<size_t>(kN * kHeads * kDim));
      L2NormArgs args;
      args.x = ConstTensorView(buf.data() + kDim, DType::kF32, {kN, kHeads, kDim},
                               {kStride, kDim, 1, 0});
      args.out = in_place ? TensorView(buf.data() + kDim, DType::kF32, {kN, kHeads, kDim},
                                       {kStride, kDim, 1, 0})
                          : TensorView(out.data(), DType::kF32, {kN, kHeads, kDim});
      args.scale = static_cast<float>(scale);
      ASSERT_OK(backend->L2Norm(args));
      std::vector<float> got;
      for (int64_t t = 0; t < kN; ++t) {
        for (int64_t h = 0; h < kHeads; ++h) {
          const auto* row = static_cast<const float*>(args.out.At(t, h));
          got.insert(got.end(), row, row + kDim);
        }
      }
      EXPECT_TRUE(testing::AllClose(got, want, 1e-5, 1e-7))
          << "threads=" << threads << " in_place=" << in_place;
    }
    // Rank 2.
    const std::vector<float> x = testing::Random(5 * 33, 4);
    std::vector<float> out(x.size());
    L2NormArgs args;
    args.x = ConstTensorView(x.data(), DType::kF32, {5, 33});
    args.out = TensorView(out.data(), DType::kF32, {5, 33});
    ASSERT_OK(backend->L2Norm(args));
    EXPECT_TRUE(
        testing::AllClose(out, reference::L2Norm(testing::ToF64(x), 33, 1e-6, 1.0), 1e-5, 1e-7));
  }
}

TEST(L2NormTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(64), out(64);
  L2NormArgs a;
  a.x = ConstTensorView(x.data(), DType::kF32, {2, 2, 16});
  a.out = TensorView(out.data(), DType::kF32, {2, 2, 15});
  EXPECT_THAT(backend->L2Norm(a), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("out must be f32[a=2, b=2, dim=16]")));
  a.out = TensorView(out.data(), DType::kF32, {2, 2, 16});
  a.eps = -1.0f;
  EXPECT_THAT(backend->L2Norm(a), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("eps")));
}

}  // namespace
}  // namespace tpserve::ops
