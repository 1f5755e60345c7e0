// RmsNorm: rank 2 and 3 (strided heads), f32 and bf16 weights, unit offset on and off, in place.
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

// f32 rounding of a mean of squares, a rsqrt and two products: a few ulps.
constexpr double kRtol = 1e-5, kAtol = 1e-6;

// x is a view of heads [1, 1 + heads) of a [rows, heads + 2, dim] buffer when rank 3.
void Check(Backend& backend, int rank, int64_t rows, int64_t heads, int64_t dim, DType wtype,
           bool unit_offset, bool in_place, uint64_t seed) {
  const int64_t total_heads = rank == 3 ? heads + 2 : 1;
  std::vector<float> buf = testing::Random(rows * total_heads * dim, seed, -3.0f, 3.0f);
  const std::vector<float> wf = testing::Random(dim, seed + 1, -0.5f, 0.5f);
  std::vector<uint16_t> wb = testing::ToBf16(wf);
  const std::vector<double> wv =
      wtype == DType::kBF16 ? testing::Bf16Values(wb) : testing::ToF64(wf);

  ConstTensorView x;
  std::vector<double> xs;  // the viewed elements, dense
  if (rank == 3) {
    x = ConstTensorView(buf.data() + dim, DType::kF32, {rows, heads, dim},
                        {total_heads * dim, dim, 1, 0});
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t c = 0; c < dim; ++c)
          xs.push_back(buf[static_cast<size_t>((r * total_heads + h + 1) * dim + c)]);
      }
    }
  } else {
    x = ConstTensorView(buf.data(), DType::kF32, {rows, dim});
    xs = testing::ToF64(buf);
  }
  const std::vector<double> want = reference::RmsNorm(xs, dim, wv, 1e-6, unit_offset);
  std::vector<float> out_buf(static_cast<size_t>(rows * (rank == 3 ? heads : 1) * dim));
  RmsNormArgs args;
  args.x = x;
  args.weight = wtype == DType::kBF16 ? ConstTensorView(wb.data(), DType::kBF16, {dim})
                                      : ConstTensorView(wf.data(), DType::kF32, {dim});
  args.unit_offset = unit_offset;
  if (in_place) {
    args.out = TensorView(const_cast<void*>(x.data), x.dtype, x.shape, x.strides);
  } else {
    args.out = rank == 3 ? TensorView(out_buf.data(), DType::kF32, {rows, heads, dim})
                         : TensorView(out_buf.data(), DType::kF32, {rows, dim});
  }
  ASSERT_OK(backend.RmsNorm(args));
  std::vector<float> got;
  for (int64_t r = 0; r < rows * (rank == 3 ? heads : 1); ++r) {
    const int64_t i0 = rank == 3 ? r / heads : r, i1 = rank == 3 ? r % heads : 0;
    const auto* row = static_cast<const float*>(args.out.At(i0, i1));
    got.insert(got.end(), row, row + dim);
  }
  EXPECT_TRUE(testing::AllClose(got, want, kRtol, kAtol));
}

TEST(RmsNormTest, MatchesReference) {
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    uint64_t seed = 10;
    for (DType wtype : {DType::kF32, DType::kBF16}) {
      for (bool unit_offset : {true, false}) {
        for (bool in_place : {false, true}) {
          SCOPED_TRACE(::testing::Message()
                       << "threads=" << threads << " w=" << DTypeName(wtype)
                       << " unit_offset=" << unit_offset << " in_place=" << in_place);
          Check(*backend, 2, 7, 1, 64, wtype, unit_offset, in_place, seed += 3);
          Check(*backend, 2, 1, 1, 1, wtype, unit_offset, in_place, seed += 3);
          Check(*backend, 2, 3, 1, 1000, wtype, unit_offset, in_place, seed += 3);
          Check(*backend, 3, 4, 3, 48, wtype, unit_offset, in_place, seed += 3);
          Check(*backend, 3, 33, 2, 256, wtype, unit_offset, in_place, seed += 3);
        }
      }
    }
  }
}

TEST(RmsNormTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(64), w(16), out(64);
  const auto good = [&] {
    RmsNormArgs a;
    a.x = ConstTensorView(x.data(), DType::kF32, {4, 16});
    a.weight = ConstTensorView(w.data(), DType::kF32, {16});
    a.out = TensorView(out.data(), DType::kF32, {4, 16});
    return a;
  };
  ASSERT_OK(backend->RmsNorm(good()));
  RmsNormArgs a = good();
  a.weight = ConstTensorView(w.data(), DType::kF32, {15});
  EXPECT_THAT(backend->RmsNorm(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("weight must be f32|bf16[dim=16], got f32[15]")));
  a = good();
  a.weight.dtype = DType::kF16;
  EXPECT_THAT(backend->RmsNorm(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weight must be f32|bf16")));
  a = good();
  a.out = TensorView(out.data(), DType::kF32, {4, 8});
  EXPECT_THAT(backend->RmsNorm(a), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("out must be f32[a=4, dim=16]")));
  a = good();
  a.out = TensorView(x.data() + 1, DType::kF32, {4, 16});
  EXPECT_THAT(backend->RmsNorm(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partially overlaps x")));
  a = good();
  a.x = ConstTensorView(x.data(), DType::kF32, {1, 4, 4, 4});
  EXPECT_THAT(backend->RmsNorm(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x must be f32[a, dim]")));
}

}  // namespace
}  // namespace tpserve::ops
