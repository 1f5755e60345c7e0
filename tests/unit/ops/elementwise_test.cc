// SiluMul, SigmoidMul and Add: strided views, in-place aliasing, rank-3 SigmoidMul.
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

constexpr int64_t kN = 7, kD = 300;

// a and b are the two halves of a [n, 2d] buffer (the fused gate_up projection layout).
struct Inputs {
  std::vector<float> buf = testing::Random(kN * 2 * kD, 5, -12.0f, 12.0f);
  ConstTensorView a() const {
    return ConstTensorView(buf.data(), DType::kF32, {kN, kD}, {2 * kD, 1, 0, 0});
  }
  ConstTensorView b() const {
    return ConstTensorView(buf.data() + kD, DType::kF32, {kN, kD}, {2 * kD, 1, 0, 0});
  }
  std::vector<double> Half(int which) const {
    std::vector<double> out;
    for (int64_t t = 0; t < kN; ++t) {
      for (int64_t c = 0; c < kD; ++c)
        out.push_back(buf[static_cast<size_t>(t * 2 * kD + which * kD + c)]);
    }
    return out;
  }
};

std::vector<float> Gather(const TensorView& v) {
  std::vector<float> out;
  for (int64_t t = 0; t < v.dim(0); ++t) {
    const auto* r = static_cast<const float*>(v.At(t));
    out.insert(out.end(), r, r + v.dim(1));
  }
  return out;
}

TEST(ElementwiseTest, SiluMulMatchesReferenceOutOfPlaceAndInPlace) {
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    for (int alias = 0; alias < 3; ++alias) {  // 0: separate out, 1: out = gate, 2: out = up
      Inputs in;
      const std::vector<double> want = reference::SiluMul(in.Half(0), in.Half(1));
      std::vector<float> sep(static_cast<size_t>(kN * kD));
      SiluMulArgs args;
      args.gate = in.a();
      args.up = in.b();
      args.out = alias == 0 ? TensorView(sep.data(), DType::kF32, {kN, kD})
                 : alias == 1
                     ? TensorView(in.buf.data(), DType::kF32, {kN, kD}, {2 * kD, 1, 0, 0})
                     : TensorView(in.buf.data() + kD, DType::kF32, {kN, kD}, {2 * kD, 1, 0, 0});
      ASSERT_OK(backend->SiluMul(args));
      EXPECT_TRUE(testing::AllClose(Gather(args.out), want, 2e-6, 1e-6)) << "alias " << alias;
    }
  }
}

TEST(ElementwiseTest, SigmoidMulAndAddMatchReference) {
  for (int threads : testing::kThreadCounts) {
    auto backend = testing::MakeCpuBackend(threads);
    Inputs in;
    std::vector<float> out(static_cast<size_t>(kN * kD));
    SigmoidMulArgs sm;
    sm.x = in.a();
    sm.gate = in.b();
    sm.out = TensorView(out.data(), DType::kF32, {kN, kD});
    ASSERT_OK(backend->SigmoidMul(sm));
    EXPECT_TRUE(testing::AllClose(out, reference::SigmoidMul(in.Half(0), in.Half(1)), 2e-6, 1e-6));
    // Rank 3, in place on x: [n, heads, head_dim] with heads of 60.
    sm.x = ConstTensorView(in.buf.data(), DType::kF32, {kN, 5, 60}, {2 * kD, 60, 1, 0});
    sm.gate = ConstTensorView(in.buf.data() + kD, DType::kF32, {kN, 5, 60}, {2 * kD, 60, 1, 0});
    sm.out = TensorView(in.buf.data(), DType::kF32, {kN, 5, 60}, {2 * kD, 60, 1, 0});
    const std::vector<double> want3 = reference::SigmoidMul(in.Half(0), in.Half(1));
    ASSERT_OK(backend->SigmoidMul(sm));
    EXPECT_TRUE(testing::AllClose(
        Gather(TensorView(in.buf.data(), DType::kF32, {kN, kD}, {2 * kD, 1, 0, 0})), want3, 2e-6,
        1e-6));

    Inputs in2;
    AddArgs add;
    add.a = in2.a();
    add.b = in2.b();
    add.out = TensorView(in2.buf.data() + kD, DType::kF32, {kN, kD}, {2 * kD, 1, 0, 0});  // out = b
    const std::vector<double> want = reference::Add(in2.Half(0), in2.Half(1));
    ASSERT_OK(backend->Add(add));
    EXPECT_TRUE(testing::AllClose(Gather(add.out), want, 1e-7, 0.0));
  }
}

TEST(ElementwiseTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> a(64), b(64), out(64);
  AddArgs add;
  add.a = ConstTensorView(a.data(), DType::kF32, {4, 16});
  add.b = ConstTensorView(b.data(), DType::kF32, {4, 15});
  add.out = TensorView(out.data(), DType::kF32, {4, 16});
  EXPECT_THAT(backend->Add(add),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Add: b must be f32[n=4, d=16], got f32[4, 15]")));
  add.b = ConstTensorView(b.data(), DType::kF32, {4, 16});
  add.out = TensorView(a.data() + 3, DType::kF32, {4, 16});
  EXPECT_THAT(backend->Add(add),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partially overlaps a")));
  SiluMulArgs sm;
  sm.gate = ConstTensorView(a.data(), DType::kF32, {4, 16});
  sm.up = ConstTensorView(b.data(), DType::kBF16, {4, 16});
  sm.out = TensorView(out.data(), DType::kF32, {4, 16});
  EXPECT_THAT(backend->SiluMul(sm), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("up must be f32[n=4, d=16], got bf16")));
  SigmoidMulArgs sg;
  sg.x = ConstTensorView(a.data(), DType::kF32, {4, 2, 8});
  sg.gate = ConstTensorView(b.data(), DType::kF32, {4, 16});
  sg.out = TensorView(out.data(), DType::kF32, {4, 2, 8});
  EXPECT_THAT(backend->SigmoidMul(sg),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("gate must be f32[n=4, heads=2, head_dim=8]")));
}

}  // namespace
}  // namespace tpserve::ops
