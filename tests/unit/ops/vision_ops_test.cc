// The vision tower's ops against the float64 reference: LayerNorm (with bias), GELU (exact and
// tanh), the axial 2-D rotary and bidirectional attention inside segments; strided views like the
// tower's (q, k, v as slices of one fused qkv output), and argument errors.
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

TEST(LayerNormTest, MatchesReference) {
  constexpr int64_t kN = 9, kD = 130;
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    for (bool bf16 : {false, true}) {
      std::vector<float> x = testing::Random(kN * kD, 3, -4.0f, 6.0f);  // mean far from 0
      std::vector<float> w = testing::Random(kD, 4, 0.5f, 1.5f);
      std::vector<float> b = testing::Random(kD, 5);
      std::vector<uint16_t> w16 = testing::ToBf16(w), b16 = testing::ToBf16(b);
      const std::vector<double> wv = bf16 ? testing::Bf16Values(w16) : testing::ToF64(w);
      const std::vector<double> bv = bf16 ? testing::Bf16Values(b16) : testing::ToF64(b);
      const std::vector<double> want = reference::LayerNorm(testing::ToF64(x), kD, wv, bv, 1e-6);
      std::vector<float> out(x.size());
      LayerNormArgs a;
      a.x = ConstTensorView(x.data(), DType::kF32, {kN, kD});
      a.weight = bf16 ? ConstTensorView(w16.data(), DType::kBF16, {kD})
                      : ConstTensorView(w.data(), DType::kF32, {kD});
      a.bias = bf16 ? ConstTensorView(b16.data(), DType::kBF16, {kD})
                    : ConstTensorView(b.data(), DType::kF32, {kD});
      a.out = TensorView(out.data(), DType::kF32, {kN, kD});
      a.eps = 1e-6f;
      ASSERT_OK(backend->LayerNorm(a));
      EXPECT_TRUE(testing::AllClose(out, want, 1e-5, 1e-5)) << "threads=" << threads;
      a.out = TensorView(x.data(), DType::kF32, {kN, kD});  // in place
      ASSERT_OK(backend->LayerNorm(a));
      EXPECT_TRUE(testing::AllClose(x, want, 1e-5, 1e-5));
    }
  }
}

TEST(GeluTest, ExactAndTanhMatchReference) {
  constexpr int64_t kN = 5, kD = 301;
  auto backend = testing::MakeCpuBackend(2);
  for (bool tanh : {false, true}) {
    std::vector<float> x = testing::Random(kN * kD, 6, -8.0f, 8.0f);
    const std::vector<double> want = reference::Gelu(testing::ToF64(x), tanh);
    std::vector<float> out(x.size());
    GeluArgs a{.x = ConstTensorView(x.data(), DType::kF32, {kN, kD}),
               .out = TensorView(out.data(), DType::kF32, {kN, kD}),
               .tanh_approximation = tanh};
    ASSERT_OK(backend->Gelu(a));
    EXPECT_TRUE(testing::AllClose(out, want, 2e-6, 1e-6)) << "tanh=" << tanh;
  }
  // The two forms differ measurably (the merger uses exact, the blocks tanh).
  std::vector<float> x = {1.5f}, exact(1), approx(1);
  ASSERT_OK(backend->Gelu({.x = ConstTensorView(x.data(), DType::kF32, {1, 1}),
                           .out = TensorView(exact.data(), DType::kF32, {1, 1})}));
  ASSERT_OK(backend->Gelu({.x = ConstTensorView(x.data(), DType::kF32, {1, 1}),
                           .out = TensorView(approx.data(), DType::kF32, {1, 1}),
                           .tanh_approximation = true}));
  EXPECT_GT(std::abs(exact[0] - approx[0]), 1e-5f);
}

TEST(Rope2dTest, MatchesReferenceOnAStridedQkvView) {
  constexpr int64_t kN = 23, kHeads = 3, kD = 72;  // head_dim 72: the 9B / 27B tower
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    // q is the first third of a fused [n, 3 * heads * d] row, as in the tower.
    std::vector<float> qkv = testing::Random(kN * 3 * kHeads * kD, 7);
    std::vector<int32_t> pos(kN * 2);
    for (int64_t t = 0; t < kN; ++t) {
      pos[static_cast<size_t>(2 * t)] = static_cast<int32_t>(t / 5 * 7);  // rows up to 28
      pos[static_cast<size_t>(2 * t + 1)] = static_cast<int32_t>(t % 5 * 13);
    }
    std::vector<double> want(kN * kHeads * kD);
    for (int64_t t = 0; t < kN; ++t)
      for (int64_t i = 0; i < kHeads * kD; ++i)
        want[static_cast<size_t>(t * kHeads * kD + i)] =
            qkv[static_cast<size_t>(t * 3 * kHeads * kD + i)];
    reference::Rope2d(want, kN, kHeads, kD, pos, 10000.0, /*torch_f32_angles=*/true);
    Rope2dArgs a;
    a.x = TensorView(qkv.data(), DType::kF32, {kN, kHeads, kD}, {3 * kHeads * kD, kD, 1, 0});
    a.positions = ConstTensorView(pos.data(), DType::kI32, {kN, 2});
    ASSERT_OK(backend->Rope2d(a));
    std::vector<float> got;
    for (int64_t t = 0; t < kN; ++t)
      for (int64_t i = 0; i < kHeads * kD; ++i)
        got.push_back(qkv[static_cast<size_t>(t * 3 * kHeads * kD + i)]);
    EXPECT_TRUE(testing::AllClose(got, want, 1e-5, 1e-6)) << "threads=" << threads;
  }
}

TEST(Rope2dTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(2 * 6);
  std::vector<int32_t> pos(4);
  Rope2dArgs a;
  a.x = TensorView(x.data(), DType::kF32, {2, 1, 6});
  a.positions = ConstTensorView(pos.data(), DType::kI32, {2, 2});
  EXPECT_THAT(backend->Rope2d(a), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("head_dim must be a multiple of 4, got 6")));
  a.x = TensorView(x.data(), DType::kF32, {3, 1, 4});
  EXPECT_THAT(backend->Rope2d(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positions")));
}

TEST(SegmentAttentionTest, MatchesReferenceAcrossSegments) {
  constexpr int64_t kHeads = 2, kD = 40;
  // Segments longer than a key block (256) and a query block (64), and a one-token segment.
  const std::vector<int32_t> starts = {0, 1, 300, 371};
  const int64_t n = starts.back();
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    for (CpuIsa isa : testing::SupportedIsas()) {
      testing::ScopedIsa scoped(isa);
      std::vector<float> qkv = testing::Random(n * 3 * kHeads * kD, 11, -2.0f, 2.0f);
      std::vector<double> q, k, v;
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t i = 0; i < kHeads * kD; ++i) {
          const size_t base = static_cast<size_t>(t * 3 * kHeads * kD + i);
          q.push_back(qkv[base]);
          k.push_back(qkv[base + kHeads * kD]);
          v.push_back(qkv[base + 2 * kHeads * kD]);
        }
      }
      const double scale = 1.0 / std::sqrt(static_cast<double>(kD));
      const std::vector<double> want =
          reference::SegmentAttention(q, k, v, n, kHeads, kD, starts, scale);
      std::vector<float> out(static_cast<size_t>(n * kHeads * kD));
      const std::array<int64_t, 4> strides = {3 * kHeads * kD, kD, 1, 0};
      SegmentAttentionArgs a;
      a.q = ConstTensorView(qkv.data(), DType::kF32, {n, kHeads, kD}, strides);
      a.k = ConstTensorView(qkv.data() + kHeads * kD, DType::kF32, {n, kHeads, kD}, strides);
      a.v = ConstTensorView(qkv.data() + 2 * kHeads * kD, DType::kF32, {n, kHeads, kD}, strides);
      a.seq_starts = ConstTensorView(starts.data(), DType::kI32, {4});
      a.out = TensorView(out.data(), DType::kF32, {n, kHeads, kD});
      a.scale = static_cast<float>(scale);
      ASSERT_OK(backend->SegmentAttention(a));
      EXPECT_TRUE(testing::AllClose(out, want, 1e-5, 1e-5))
          << "threads=" << threads << " isa=" << CpuIsaName(isa);
    }
  }
}

TEST(SegmentAttentionTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> q(4 * 8), out(4 * 8);
  const std::vector<int32_t> bad = {0, 3};
  SegmentAttentionArgs a;
  a.q = a.k = a.v = ConstTensorView(q.data(), DType::kF32, {4, 1, 8});
  a.seq_starts = ConstTensorView(bad.data(), DType::kI32, {2});
  a.out = TensorView(out.data(), DType::kF32, {4, 1, 8});
  EXPECT_THAT(backend->SegmentAttention(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seq_starts")));
  const std::vector<int32_t> ok = {0, 4};
  a.seq_starts = ConstTensorView(ok.data(), DType::kI32, {2});
  a.out = TensorView(q.data(), DType::kF32, {4, 1, 8});
  EXPECT_THAT(backend->SegmentAttention(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out")));
}

}  // namespace
}  // namespace tpserve::ops
