// GatedRmsNorm: per value head, f32 and bf16 weights, strided x and z, in place.
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

TEST(GatedRmsNormTest, MatchesReference) {
  constexpr int64_t kN = 5, kHeads = 4, kDim = 128;
  // x and z are the two halves of a [n, 2 * heads * dim] buffer (row stride 2 * heads * dim).
  const int64_t row = 2 * kHeads * kDim;
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    for (DType wtype : {DType::kF32, DType::kBF16}) {
      for (bool in_place : {false, true}) {
        std::vector<float> buf = testing::Random(kN * row, 21, -4.0f, 4.0f);
        const std::vector<float> wf = testing::Random(kDim, 22, 0.5f, 1.5f);
        const std::vector<uint16_t> wb = testing::ToBf16(wf);
        std::vector<double> xs, zs;
        for (int64_t t = 0; t < kN; ++t) {
          for (int64_t i = 0; i < kHeads * kDim; ++i) {
            xs.push_back(buf[static_cast<size_t>(t * row + i)]);
            zs.push_back(buf[static_cast<size_t>(t * row + kHeads * kDim + i)]);
          }
        }
        const std::vector<double> want = reference::GatedRmsNorm(
            xs, zs, kDim, wtype == DType::kBF16 ? testing::Bf16Values(wb) : testing::ToF64(wf),
            1e-6);
        const std::array<int64_t, 4> strides = {row, kDim, 1, 0};
        std::vector<float> out(static_cast<size_t>(kN * kHeads * kDim));
        GatedRmsNormArgs args;
        args.x = ConstTensorView(buf.data(), DType::kF32, {kN, kHeads, kDim}, strides);
        args.z =
            ConstTensorView(buf.data() + kHeads * kDim, DType::kF32, {kN, kHeads, kDim}, strides);
        args.weight = wtype == DType::kBF16 ? ConstTensorView(wb.data(), DType::kBF16, {kDim})
                                            : ConstTensorView(wf.data(), DType::kF32, {kDim});
        args.out = in_place ? TensorView(buf.data(), DType::kF32, {kN, kHeads, kDim}, strides)
                            : TensorView(out.data(), DType::kF32, {kN, kHeads, kDim});
        ASSERT_OK(backend->GatedRmsNorm(args));
        std::vector<float> got;
        for (int64_t t = 0; t < kN; ++t) {
          for (int64_t h = 0; h < kHeads; ++h) {
            const auto* r = static_cast<const float*>(args.out.At(t, h));
            got.insert(got.end(), r, r + kDim);
          }
        }
        EXPECT_TRUE(testing::AllClose(got, want, 1e-5, 1e-6))
            << "threads=" << threads << " w=" << DTypeName(wtype) << " in_place=" << in_place;
      }
    }
  }
}

TEST(GatedRmsNormTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(64), z(64), w(16), out(64);
  GatedRmsNormArgs a;
  a.x = ConstTensorView(x.data(), DType::kF32, {2, 2, 16});
  a.z = ConstTensorView(z.data(), DType::kF32, {2, 1, 16});
  a.weight = ConstTensorView(w.data(), DType::kF32, {16});
  a.out = TensorView(out.data(), DType::kF32, {2, 2, 16});
  EXPECT_THAT(backend->GatedRmsNorm(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("z must be f32[n=2, heads=2, dim=16], got f32[2, 1, 16]")));
  a.z = ConstTensorView(z.data(), DType::kF32, {2, 2, 16});
  a.out = TensorView(z.data(), DType::kF32, {2, 2, 16});
  EXPECT_THAT(backend->GatedRmsNorm(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must not alias z")));
}

}  // namespace
}  // namespace tpserve::ops
