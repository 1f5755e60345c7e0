// MatMul against the float64 reference, for every ISA this machine runs, 1 and 2 threads, f32 /
// bf16 / f16 weights, decode-sized and prefill-sized m (both kernel paths), odd sizes, strided x
// and out, bias and accumulate.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/cpu_features.h"
#include "ops/base/dtype.h"
#include "tests/reference/reference_ops.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/ops/ops_test_util.h"

namespace tpserve::ops {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

struct Case {
  int64_t m, n, k;
  bool bias;
  bool accumulate;
  int64_t x_pad;    // extra elements per x row (a strided view)
  int64_t out_pad;  // extra elements per out row
};

// Both kernel paths (rows: m ≤ 64, blocked above), odd k and n around the vector widths and tile
// sizes, several kc / nc / mc blocks for the blocked path.
const Case kCases[] = {
    {1, 1, 1, false, false, 0, 0},
    {1, 37, 19, true, false, 3, 0},
    {1, 64, 1024, false, true, 0, 5},
    {2, 129, 1000, true, false, 0, 0},
    {3, 130, 257, false, false, 7, 2},
    {4, 8, 16, true, true, 0, 0},
    {16, 96, 100, false, false, 1, 1},
    {17, 45, 33, true, false, 0, 3},
    {33, 70, 300, false, true, 4, 0},
    {40, 600, 520, true, false, 0, 0},
    {130, 40, 70, true, true, 2, 2},
    {29, 1, 530, false, false, 0, 0},
    {200, 20, 50, true, false, 0, 1},  // one column panel: the blocked path splits m
    {65, 50, 1100, true, true, 3, 1},
    {136, 530, 520, false, true, 0, 2},  // blocked: several kc and nc blocks
};

constexpr float kPadSentinel = 12345.0f;

std::string Describe(const Case& c, DType dtype) {
  return absl::StrCat("m=", c.m, " n=", c.n, " k=", c.k, " ", std::string(DTypeName(dtype)),
                      c.bias ? " bias" : "", c.accumulate ? " accumulate" : "", " x_pad=", c.x_pad,
                      " out_pad=", c.out_pad);
}

// One case's inputs in their stored form plus the reference output and per-element bounds.
struct Prepared {
  std::vector<float> x;         // [m, k + x_pad]
  std::vector<uint8_t> w;       // [n, k] of dtype
  std::vector<float> bias;      // [n] or empty
  std::vector<float> out_init;  // [m, n + out_pad]
  std::vector<double> want;     // [m, n]
  std::vector<double> bound;    // [m, n]
};

Prepared Prepare(const Case& c, DType dtype, uint64_t seed) {
  Prepared p;
  const int64_t ldx = c.k + c.x_pad, ldo = c.n + c.out_pad;
  p.x = testing::Random(c.m * ldx, seed);
  const std::vector<float> wf = testing::Random(c.n * c.k, seed + 1);
  std::vector<double> wv;
  if (dtype == DType::kF32) {
    p.w.resize(wf.size() * 4);
    std::memcpy(p.w.data(), wf.data(), p.w.size());
    wv = testing::ToF64(wf);
  } else {
    const std::vector<uint16_t> h =
        dtype == DType::kBF16 ? testing::ToBf16(wf) : testing::ToF16(wf);
    p.w.resize(h.size() * 2);
    std::memcpy(p.w.data(), h.data(), p.w.size());
    wv = dtype == DType::kBF16 ? testing::Bf16Values(h) : testing::F16Values(h);
  }
  if (c.bias) p.bias = testing::Random(c.n, seed + 2);
  p.out_init = testing::Random(c.m * ldo, seed + 3);
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = c.n; j < ldo; ++j) p.out_init[static_cast<size_t>(i * ldo + j)] = kPadSentinel;
  }
  // Dense x for the reference, and |x|, |w| for the error bound.
  std::vector<double> xd(static_cast<size_t>(c.m * c.k)), xa(xd.size()), wa(wv.size());
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t q = 0; q < c.k; ++q) {
      xd[static_cast<size_t>(i * c.k + q)] = p.x[static_cast<size_t>(i * ldx + q)];
      xa[static_cast<size_t>(i * c.k + q)] = std::abs(p.x[static_cast<size_t>(i * ldx + q)]);
    }
  }
  for (size_t i = 0; i < wv.size(); ++i) wa[i] = std::abs(wv[i]);
  const std::vector<double> bd = testing::ToF64(p.bias);
  p.want = reference::MatMul(xd, c.m, c.k, wv, c.n, bd);
  const std::vector<double> mag = reference::MatMul(xa, c.m, c.k, wa, c.n, {});
  p.bound.resize(p.want.size());
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      const auto o = static_cast<size_t>(i * c.n + j);
      double m = mag[o] + (c.bias ? std::abs(bd[static_cast<size_t>(j)]) : 0.0);
      if (c.accumulate) {
        const double init = p.out_init[static_cast<size_t>(i * ldo + j)];
        p.want[o] += init;
        m += std::abs(init);
      }
      // f32 accumulation over k terms: a few units of 2^-24 per term at most, relative to Σ|x·w|.
      p.bound[o] = 1e-5 * m + 1e-30;
    }
  }
  return p;
}

void RunCase(Backend& backend, const Case& c, DType dtype, const Prepared& p) {
  const int64_t ldx = c.k + c.x_pad, ldo = c.n + c.out_pad;
  std::vector<float> out = p.out_init;
  MatMulArgs args;
  args.x = ConstTensorView(p.x.data(), DType::kF32, {c.m, c.k}, {ldx, 1, 0, 0});
  args.w = ConstTensorView(p.w.data(), dtype, {c.n, c.k});
  if (c.bias) args.bias = ConstTensorView(p.bias.data(), DType::kF32, {c.n});
  args.out = TensorView(out.data(), DType::kF32, {c.m, c.n}, {ldo, 1, 0, 0});
  args.accumulate = c.accumulate;
  ASSERT_OK(backend.MatMul(args));
  std::vector<float> got(static_cast<size_t>(c.m * c.n));
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < ldo; ++j) {
      const float v = out[static_cast<size_t>(i * ldo + j)];
      if (j < c.n) {
        got[static_cast<size_t>(i * c.n + j)] = v;
      } else {
        ASSERT_EQ(v, kPadSentinel) << "wrote past n in row " << i;
      }
    }
  }
  EXPECT_TRUE(testing::WithinBounds(got, p.want, p.bound));
}

TEST(MatMulTest, MatchesReferenceForEveryIsaThreadCountAndWeightType) {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      const Prepared p = Prepare(c, dtype, seed += 10);
      for (CpuIsa isa : testing::SupportedIsas()) {
        testing::ScopedIsa scoped(isa);
        for (int threads : testing::kThreadCounts) {
          SCOPED_TRACE(
              absl::StrCat(Describe(c, dtype), " isa=", CpuIsaName(isa), " threads=", threads));
          auto backend = testing::MakeCpuBackend(threads);
          RunCase(*backend, c, dtype, p);
        }
      }
    }
  }
}

TEST(MatMulTest, ZeroSizedDimsAreNoOpsAndKZeroGivesBias) {
  auto backend = testing::MakeCpuBackend(2);
  std::vector<float> x(4), w(4), bias = {1.5f, -2.0f}, out = {7.0f, 7.0f, 7.0f, 7.0f};
  MatMulArgs args;
  args.x = ConstTensorView(x.data(), DType::kF32, {0, 2});
  args.w = ConstTensorView(w.data(), DType::kF32, {2, 2});
  args.out = TensorView(out.data(), DType::kF32, {0, 2});
  ASSERT_OK(backend->MatMul(args));
  EXPECT_EQ(out[0], 7.0f);
  // k = 0: out = bias (+ out when accumulating).
  args.x = ConstTensorView(x.data(), DType::kF32, {2, 0});
  args.w = ConstTensorView(w.data(), DType::kF32, {2, 0});
  args.bias = ConstTensorView(bias.data(), DType::kF32, {2});
  args.out = TensorView(out.data(), DType::kF32, {2, 2});
  ASSERT_OK(backend->MatMul(args));
  EXPECT_THAT(out, ::testing::ElementsAre(1.5f, -2.0f, 1.5f, -2.0f));
  args.accumulate = true;
  ASSERT_OK(backend->MatMul(args));
  EXPECT_THAT(out, ::testing::ElementsAre(3.0f, -4.0f, 3.0f, -4.0f));
}

TEST(MatMulTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(64), w(64), out(64), bias(8);
  const auto good = [&] {
    MatMulArgs a;
    a.x = ConstTensorView(x.data(), DType::kF32, {2, 4});
    a.w = ConstTensorView(w.data(), DType::kF32, {3, 4});
    a.out = TensorView(out.data(), DType::kF32, {2, 3});
    return a;
  };
  ASSERT_OK(backend->MatMul(good()));

  MatMulArgs a = good();
  a.x.dtype = DType::kBF16;
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("MatMul: x must be f32[m, k], got bf16[2, 4]")));
  a = good();
  a.w = ConstTensorView(w.data(), DType::kF32, {3, 5});
  EXPECT_THAT(backend->MatMul(a), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("w must be f32|bf16|f16[n, k=4]")));
  a = good();
  a.w = ConstTensorView(w.data(), DType::kI32, {3, 4});
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got i32[3, 4]")));
  a = good();
  a.w = ConstTensorView(w.data(), DType::kF32, {3, 4}, {8, 1, 0, 0});
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("w must be f32|bf16|f16[n, k=4] and contiguous")));
  a = good();
  a.x = ConstTensorView(x.data(), DType::kF32, {2, 4}, {8, 2, 0, 0});
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("x must be f32[m, k] with a contiguous innermost dim")));
  a = good();
  a.out = TensorView(out.data(), DType::kF32, {2, 4});
  EXPECT_THAT(backend->MatMul(a), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("out must be f32[m=2, n=3], got f32[2, 4]")));
  a = good();
  a.bias = ConstTensorView(bias.data(), DType::kF32, {4});
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bias must be f32[n=3]")));
  a = good();
  a.out = TensorView(x.data() + 2, DType::kF32, {2, 3});
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must not alias x")));
  a = good();
  a.out = TensorView(out.data(), DType::kF32, {2, 3}, {2, 1, 0, 0});
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out rows overlap")));
  a = good();
  a.w.data = nullptr;
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pointer is null")));
  a = good();
  a.x = ConstTensorView(x.data(), DType::kF32, {2, 4, 1});
  EXPECT_THAT(backend->MatMul(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x must be f32[m, k]")));
}

}  // namespace
}  // namespace tpserve::ops
