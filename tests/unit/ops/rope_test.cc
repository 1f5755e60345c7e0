// Rope: interleaved M-RoPE with distinct t/h/w positions against spec §4 in float64, the
// non-interleaved section layout, HF's float32 angle order at large positions, partial rotary
// (dims past rotary_dim untouched) on a strided view.
#include <cmath>
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

constexpr int64_t kN = 13, kHeads = 3, kHeadDim = 96;

std::vector<int32_t> Positions(int32_t lo, int32_t span, uint64_t seed) {
  const std::vector<float> r = testing::Random(kN * 3, seed, 0.0f, 1.0f);
  std::vector<int32_t> p(r.size());
  for (size_t i = 0; i < r.size(); ++i)
    p[i] = lo + static_cast<int32_t>(r[i] * static_cast<float>(span));
  return p;
}

// Runs Rope on q heads living in the first half of a [n, heads, 2 * head_dim] buffer (q_proj's
// per-head [query | gate] layout) and checks every element against the reference; the gate half
// and the dims past rotary_dim must stay bit-identical.
void Check(Backend& backend, const reference::RopeParams& p, const std::vector<int32_t>& pos,
           double atol) {
  std::vector<float> buf = testing::Random(kN * kHeads * 2 * kHeadDim, 77);
  const std::vector<float> before = buf;
  std::vector<double> x;
  for (int64_t t = 0; t < kN; ++t) {
    for (int64_t h = 0; h < kHeads; ++h) {
      for (int64_t c = 0; c < kHeadDim; ++c)
        x.push_back(buf[static_cast<size_t>((t * kHeads + h) * 2 * kHeadDim + c)]);
    }
  }
  reference::Rope(x, kN, kHeads, kHeadDim, pos, p);
  RopeArgs args;
  args.x = TensorView(buf.data(), DType::kF32, {kN, kHeads, kHeadDim},
                      {kHeads * 2 * kHeadDim, 2 * kHeadDim, 1, 0});
  args.positions = ConstTensorView(pos.data(), DType::kI32, {kN, 3});
  args.rotary_dim = p.rotary_dim;
  args.theta = static_cast<float>(p.theta);
  args.sections = p.sections;
  args.interleaved = p.interleaved;
  ASSERT_OK(backend.Rope(args));
  std::vector<float> got;
  for (int64_t t = 0; t < kN; ++t) {
    for (int64_t h = 0; h < kHeads; ++h) {
      const size_t base = static_cast<size_t>((t * kHeads + h) * 2 * kHeadDim);
      for (int64_t c = 0; c < 2 * kHeadDim; ++c) {
        const size_t i = base + static_cast<size_t>(c);
        if (c < kHeadDim) got.push_back(buf[i]);
        if (c >= p.rotary_dim) {
          ASSERT_EQ(buf[i], before[i]) << "dim " << c << " changed";
        }
      }
    }
  }
  EXPECT_TRUE(testing::AllClose(got, x, 0.0, atol));
}

TEST(RopeTest, InterleavedMropeMatchesSpecWithDistinctAxes) {
  reference::RopeParams p;
  p.rotary_dim = 64;
  p.theta = 1e7;
  p.sections = {11, 11, 10};
  p.interleaved = true;
  // Positions below 2048: float32 angles are within a few 2048·2⁻²⁴ rad of the float64 ones.
  const std::vector<int32_t> pos = Positions(0, 2048, 5);
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    Check(*backend, p, pos, 1e-3);
    p.torch_f32_angles = true;  // and tightly against the f32 angle order
    Check(*backend, p, pos, 1e-6);
    p.torch_f32_angles = false;
  }
}

TEST(RopeTest, ContiguousSectionsMatchSpec) {
  reference::RopeParams p;
  p.rotary_dim = 80;
  p.theta = 10000.0;
  p.sections = {20, 12, 8};
  p.interleaved = false;
  const std::vector<int32_t> pos = Positions(0, 1000, 6);
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    Check(*backend, p, pos, 5e-4);
    p.torch_f32_angles = true;
    Check(*backend, p, pos, 1e-6);
    p.torch_f32_angles = false;
  }
}

TEST(RopeTest, LargePositionsFollowHfFloat32Order) {
  reference::RopeParams p;
  p.rotary_dim = 64;
  p.theta = 1e7;
  p.sections = {11, 11, 10};
  p.torch_f32_angles = true;
  const std::vector<int32_t> pos = Positions(200000, 800000, 7);
  auto backend = testing::MakeCpuBackend(2);
  Check(*backend, p, pos, 1e-6);
  // The float64 angles differ by far more at these positions: the f32 order matters.
  p.torch_f32_angles = false;
  std::vector<double> x64(static_cast<size_t>(kN * kHeads * kHeadDim), 1.0), x32 = x64;
  reference::Rope(x64, kN, kHeads, kHeadDim, pos, p);
  p.torch_f32_angles = true;
  reference::Rope(x32, kN, kHeads, kHeadDim, pos, p);
  double diff = 0.0;
  for (size_t i = 0; i < x64.size(); ++i) diff = std::max(diff, std::abs(x64[i] - x32[i]));
  EXPECT_GT(diff, 1e-3);
}

TEST(RopeTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(2 * 2 * 16);
  std::vector<int32_t> pos(6);
  const auto good = [&] {
    RopeArgs a;
    a.x = TensorView(x.data(), DType::kF32, {2, 2, 16});
    a.positions = ConstTensorView(pos.data(), DType::kI32, {2, 3});
    a.rotary_dim = 8;
    a.sections = {2, 1, 1};
    return a;
  };
  ASSERT_OK(backend->Rope(good()));
  RopeArgs a = good();
  a.rotary_dim = 7;
  EXPECT_THAT(backend->Rope(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rotary_dim must be even and in [0, head_dim=16], got 7")));
  a = good();
  a.rotary_dim = 18;
  EXPECT_THAT(backend->Rope(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rotary_dim")));
  a = good();
  a.sections = {2, 2, 1};
  EXPECT_THAT(backend->Rope(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sections must be >= 0 and sum to rotary_dim / 2 = 4")));
  a = good();
  a.positions = ConstTensorView(pos.data(), DType::kI32, {2, 2});
  EXPECT_THAT(backend->Rope(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("positions must be i32[n=2, 3=3], got i32[2, 2]")));
  a = good();
  a.theta = 0.0f;
  EXPECT_THAT(backend->Rope(a), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("theta")));
}

}  // namespace
}  // namespace tpserve::ops
