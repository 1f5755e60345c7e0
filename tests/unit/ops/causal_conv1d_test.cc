// CausalConv1d: several sequences (shorter and longer than the kernel history) in one call with
// non-consecutive slots and a non-zero incoming state, two calls in a row (the state carries),
// f32 and bf16 weights, silu on and off.
#include <cstdint>
#include <cstring>
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

constexpr int64_t kChannels = 200, kKernel = 4, kSlots = 4;

TEST(CausalConv1dTest, MatchesReferenceAcrossCallsAndSequences) {
  const std::vector<int32_t> slots = {2, 0, 3};
  const std::vector<int32_t> starts = {0, 1, 3, 10};  // lengths 1, 2, 7
  const int64_t n = 10;
  const std::vector<float> wf = testing::Random(kChannels * kKernel, 41);
  const std::vector<uint16_t> wb = testing::ToBf16(wf);
  for (DType wtype : {DType::kF32, DType::kBF16}) {
    for (bool silu : {true, false}) {
      for (int threads : testing::kThreadCounts) {
        SCOPED_TRACE(::testing::Message()
                     << DTypeName(wtype) << " silu=" << silu << " threads=" << threads);
        auto backend = testing::MakeCpuBackend(threads);
        std::vector<float> state = testing::Random(kSlots * (kKernel - 1) * kChannels, 42);
        std::vector<double> ref_state = testing::ToF64(state);
        const std::vector<double> wv =
            wtype == DType::kBF16 ? testing::Bf16Values(wb) : testing::ToF64(wf);
        for (int call = 0; call < 2; ++call) {
          // x is the first kChannels columns of a wider [n, kChannels + 8] buffer.
          const std::vector<float> xbuf =
              testing::Random(n * (kChannels + 8), 50 + static_cast<uint64_t>(call));
          std::vector<double> x;
          for (int64_t t = 0; t < n; ++t) {
            for (int64_t c = 0; c < kChannels; ++c)
              x.push_back(xbuf[static_cast<size_t>(t * (kChannels + 8) + c)]);
          }
          const std::vector<double> want =
              reference::CausalConv1d(x, kChannels, wv, kKernel, ref_state, slots, starts, silu);
          std::vector<float> out(static_cast<size_t>(n * kChannels));
          CausalConv1dArgs args;
          args.x =
              ConstTensorView(xbuf.data(), DType::kF32, {n, kChannels}, {kChannels + 8, 1, 0, 0});
          args.weight = wtype == DType::kBF16
                            ? ConstTensorView(wb.data(), DType::kBF16, {kChannels, kKernel})
                            : ConstTensorView(wf.data(), DType::kF32, {kChannels, kKernel});
          args.state = TensorView(state.data(), DType::kF32, {kSlots, kKernel - 1, kChannels});
          args.slots = ConstTensorView(slots.data(), DType::kI32, {3});
          args.seq_starts = ConstTensorView(starts.data(), DType::kI32, {4});
          args.out = TensorView(out.data(), DType::kF32, {n, kChannels});
          args.silu = silu;
          ASSERT_OK(backend->CausalConv1d(args));
          EXPECT_TRUE(testing::AllClose(out, want, 1e-5, 1e-6)) << "call " << call;
          // Slot 1 is unused: its state must be untouched; the rest is the last raw inputs.
          EXPECT_TRUE(testing::AllClose(state, ref_state, 0.0, 0.0)) << "state after call " << call;
        }
      }
    }
  }
}

TEST(CausalConv1dTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> x(4 * 8), w(8 * 4), state(2 * 3 * 8), out(4 * 8);
  std::vector<int32_t> slots = {0, 1}, starts = {0, 2, 4};
  const auto good = [&] {
    CausalConv1dArgs a;
    a.x = ConstTensorView(x.data(), DType::kF32, {4, 8});
    a.weight = ConstTensorView(w.data(), DType::kF32, {8, 4});
    a.state = TensorView(state.data(), DType::kF32, {2, 3, 8});
    a.slots = ConstTensorView(slots.data(), DType::kI32, {2});
    a.seq_starts = ConstTensorView(starts.data(), DType::kI32, {3});
    a.out = TensorView(out.data(), DType::kF32, {4, 8});
    return a;
  };
  ASSERT_OK(backend->CausalConv1d(good()));
  slots = {1, 1};
  EXPECT_THAT(backend->CausalConv1d(good()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("slots[1]=1 is used by two sequences")));
  slots = {0, 2};
  EXPECT_THAT(backend->CausalConv1d(good()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("slots[1]=2 is outside [0, max_slots=2)")));
  slots = {0, 1};
  starts = {0, 3, 2};
  EXPECT_THAT(backend->CausalConv1d(good()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("seq_starts must start at 0, be non-decreasing")));
  starts = {0, 2, 3};
  EXPECT_THAT(
      backend->CausalConv1d(good()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seq_starts must end at n=4, got 3")));
  starts = {0, 2, 4};
  CausalConv1dArgs a = good();
  a.state = TensorView(state.data(), DType::kF32, {2, 2, 8});
  EXPECT_THAT(backend->CausalConv1d(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("state must be f32[max_slots, kernel-1=3, channels=8]")));
  a = good();
  a.out = TensorView(x.data(), DType::kF32, {4, 8});
  EXPECT_THAT(backend->CausalConv1d(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("out f32[4, 8]{8, 1} must not alias x")));
}

}  // namespace
}  // namespace tpserve::ops
