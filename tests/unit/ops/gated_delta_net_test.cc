// GatedDeltaNet: the chunked form against the token recurrence and both against the float64
// recurrence of spec §3.5, on sequences of 1, 63, 64, 65 and 150 tokens in one call with
// non-consecutive slots and a non-zero incoming state, then a decode step on the carried state.
// q/k/v are views into one fused [n, conv_dim] buffer (the conv output split), as in the model.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reference/reference_ops.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/ops/ops_test_util.h"

namespace tpserve::ops {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

struct Dims {
  int64_t k_heads, v_heads, dk, dv;
};

// One call's inputs: fused [n, 2·k_heads·dk + v_heads·dv] with q, k L2-normalised (q also scaled
// by 1/√dk), g ≤ 0 and β ∈ (0, 1).
struct Inputs {
  Inputs(const Dims& d, int64_t n, uint64_t seed) : dims(d), tokens(n) {
    const int64_t qk = d.k_heads * d.dk;
    width = 2 * qk + d.v_heads * d.dv;
    fused = testing::Random(n * width, seed, -1.0f, 1.0f);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < 2 * d.k_heads; ++h) {
        float* x = fused.data() + t * width + h * d.dk;
        double ss = 0.0;
        for (int64_t c = 0; c < d.dk; ++c) ss += double{x[c]} * x[c];
        const double f = (h < d.k_heads ? 1.0 / std::sqrt(static_cast<double>(d.dk)) : 1.0) /
                         std::sqrt(ss + 1e-6);
        for (int64_t c = 0; c < d.dk; ++c) x[c] = static_cast<float>(x[c] * f);
      }
    }
    g = testing::Random(n * d.v_heads, seed + 1, -1.5f, 0.0f);
    for (size_t i = 0; i < g.size(); i += 7) g[i] = 0.0f;  // some tokens with no decay at all
    beta = testing::Random(n * d.v_heads, seed + 2, 0.05f, 0.95f);
  }

  std::vector<double> Part(int64_t offset, int64_t len) const {
    std::vector<double> out;
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t c = 0; c < len; ++c)
        out.push_back(fused[static_cast<size_t>(t * width + offset + c)]);
    }
    return out;
  }

  GatedDeltaNetArgs Args(TensorView state, const std::vector<int32_t>& slots,
                         const std::vector<int32_t>& starts, std::vector<float>& out,
                         int64_t chunk) const {
    const int64_t qk = dims.k_heads * dims.dk;
    GatedDeltaNetArgs a;
    a.q = ConstTensorView(fused.data(), DType::kF32, {tokens, dims.k_heads, dims.dk},
                          {width, dims.dk, 1, 0});
    a.k = ConstTensorView(fused.data() + qk, DType::kF32, {tokens, dims.k_heads, dims.dk},
                          {width, dims.dk, 1, 0});
    a.v = ConstTensorView(fused.data() + 2 * qk, DType::kF32, {tokens, dims.v_heads, dims.dv},
                          {width, dims.dv, 1, 0});
    a.g = ConstTensorView(g.data(), DType::kF32, {tokens, dims.v_heads});
    a.beta = ConstTensorView(beta.data(), DType::kF32, {tokens, dims.v_heads});
    a.state = state;
    a.slots = ConstTensorView(slots.data(), DType::kI32, {static_cast<int64_t>(slots.size())});
    a.seq_starts =
        ConstTensorView(starts.data(), DType::kI32, {static_cast<int64_t>(starts.size())});
    out.assign(static_cast<size_t>(tokens * dims.v_heads * dims.dv), NAN);
    a.out = TensorView(out.data(), DType::kF32, {tokens, dims.v_heads, dims.dv});
    a.chunk_size = chunk;
    return a;
  }

  std::vector<double> Reference(std::vector<double>& state, const std::vector<int32_t>& slots,
                                const std::vector<int32_t>& starts) const {
    const int64_t qk = dims.k_heads * dims.dk;
    return reference::GatedDeltaNet(Part(0, qk), Part(qk, qk), Part(2 * qk, dims.v_heads * dims.dv),
                                    testing::ToF64(g), testing::ToF64(beta), dims.k_heads,
                                    dims.v_heads, dims.dk, dims.dv, state, slots, starts);
  }

  Dims dims;
  int64_t tokens;
  int64_t width;
  std::vector<float> fused, g, beta;
};

// |got − want| ≤ rtol · max|want| (errors of a long recurrence scale with the state, not with
// each element).
::testing::AssertionResult CloseToScale(const std::vector<float>& got,
                                        const std::vector<double>& want, double rtol) {
  double scale = 0.0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  return testing::WithinBounds(got, want, std::vector<double>(want.size(), rtol * scale + 1e-30));
}

void RunDims(const Dims& d, uint64_t seed) {
  const std::vector<int32_t> lens = {1, 63, 64, 65, 150};
  const std::vector<int32_t> slots = {3, 0, 5, 1, 4};
  constexpr int64_t kMaxSlots = 6;
  std::vector<int32_t> starts = {0}, decode_starts = {0};
  for (int32_t l : lens) {
    starts.push_back(starts.back() + l);
    decode_starts.push_back(decode_starts.back() + 1);
  }
  const Inputs prefill(d, starts.back(), seed),
      decode(d, static_cast<int64_t>(lens.size()), seed + 10);
  const int64_t state_elems = kMaxSlots * d.v_heads * d.dk * d.dv;
  const std::vector<float> state0 = testing::Random(state_elems, seed + 20, -0.5f, 0.5f);
  std::vector<double> ref_state = testing::ToF64(state0);
  const std::vector<double> want_prefill = prefill.Reference(ref_state, slots, starts);
  const std::vector<double> ref_state_prefill = ref_state;
  const std::vector<double> want_decode = decode.Reference(ref_state, slots, decode_starts);
  const Shape state_shape = {kMaxSlots, d.v_heads, d.dk, d.dv};

  for (CpuIsa isa : testing::SupportedIsas()) {
    testing::ScopedIsa scoped(isa);
    for (int threads : testing::kThreadCounts) {
      auto backend = testing::MakeCpuBackend(threads);
      std::vector<float> out_by_chunk[2], state_by_chunk[2];
      const int64_t chunks[2] = {64, 0};
      for (int ci = 0; ci < 2; ++ci) {
        SCOPED_TRACE(absl::StrCat("isa=", CpuIsaName(isa), " threads=", threads,
                                  " chunk_size=", chunks[ci]));
        std::vector<float> state = state0, out;
        ASSERT_OK(backend->GatedDeltaNet(prefill.Args(
            TensorView(state.data(), DType::kF32, state_shape), slots, starts, out, chunks[ci])));
        EXPECT_TRUE(CloseToScale(out, want_prefill, 2e-5)) << "prefill output";
        EXPECT_TRUE(CloseToScale(state, ref_state_prefill, 2e-5)) << "state after prefill";
        out_by_chunk[ci] = out;
        state_by_chunk[ci] = state;
        ASSERT_OK(
            backend->GatedDeltaNet(decode.Args(TensorView(state.data(), DType::kF32, state_shape),
                                               slots, decode_starts, out, chunks[ci])));
        EXPECT_TRUE(CloseToScale(out, want_decode, 2e-5)) << "decode output";
        EXPECT_TRUE(CloseToScale(state, ref_state, 2e-5)) << "state after decode";
      }
      // The chunked form equals the recurrence to rounding level.
      EXPECT_TRUE(CloseToScale(out_by_chunk[0], testing::ToF64(out_by_chunk[1]), 1e-5));
      EXPECT_TRUE(CloseToScale(state_by_chunk[0], testing::ToF64(state_by_chunk[1]), 1e-5));
    }
  }
}

TEST(GatedDeltaNetTest, ChunkedAndRecurrentMatchReference) { RunDims({2, 4, 64, 64}, 1); }

TEST(GatedDeltaNetTest, OddHeadDims) { RunDims({1, 3, 24, 40}, 2); }

TEST(GatedDeltaNetTest, ModelSizedHeads) {
  // dk = dv = 128 as in Qwen3.5, one key head serving two value heads.
  const Dims d = {1, 2, 128, 128};
  const std::vector<int32_t> slots = {1}, starts = {0, 130};
  const Inputs in(d, 130, 3);
  const std::vector<float> state0 = testing::Random(2 * 2 * 128 * 128, 4, -0.5f, 0.5f);
  std::vector<double> ref_state = testing::ToF64(state0);
  const std::vector<double> want = in.Reference(ref_state, slots, starts);
  auto backend = testing::MakeCpuBackend(2);
  for (int64_t chunk : {64, 0}) {
    std::vector<float> state = state0, out;
    ASSERT_OK(backend->GatedDeltaNet(in.Args(
        TensorView(state.data(), DType::kF32, {2, 2, 128, 128}), slots, starts, out, chunk)));
    EXPECT_TRUE(CloseToScale(out, want, 2e-5)) << "chunk_size " << chunk;
    EXPECT_TRUE(CloseToScale(state, ref_state, 2e-5)) << "chunk_size " << chunk;
  }
}

TEST(GatedDeltaNetTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  const Dims d = {2, 4, 8, 8};
  const Inputs in(d, 3, 5);
  std::vector<float> state(2 * 4 * 8 * 8), out;
  std::vector<int32_t> slots = {1}, starts = {0, 3};
  const TensorView sv(state.data(), DType::kF32, {2, 4, 8, 8});
  ASSERT_OK(backend->GatedDeltaNet(in.Args(sv, slots, starts, out, 64)));

  GatedDeltaNetArgs a = in.Args(sv, slots, starts, out, 64);
  a.v = ConstTensorView(in.fused.data(), DType::kF32, {3, 3, 8}, {in.width, 8, 1, 0});
  a.g = ConstTensorView(in.g.data(), DType::kF32, {3, 3});
  EXPECT_THAT(backend->GatedDeltaNet(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("v_heads (3) must be a multiple of k_heads (2)")));
  a = in.Args(TensorView(state.data(), DType::kF32, {1, 4, 8, 8}, {512, 64, 8, 1}), slots, starts,
              out, 64);
  EXPECT_THAT(backend->GatedDeltaNet(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("slots[0]=1 is outside [0, max_slots=1)")));
  a = in.Args(TensorView(state.data(), DType::kF32, {1, 4, 8, 8}, {512, 128, 8, 1}), slots, starts,
              out, 64);
  EXPECT_THAT(
      backend->GatedDeltaNet(a),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("state must be f32[max_slots, v_heads=4, dk=8, dv=8] and contiguous")));
  a = in.Args(sv, slots, starts, out, -1);
  EXPECT_THAT(backend->GatedDeltaNet(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("chunk_size must be >= 0")));
  starts = {1, 3};
  EXPECT_THAT(
      backend->GatedDeltaNet(in.Args(sv, slots, starts, out, 64)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seq_starts must start at 0")));
  starts = {0, 3};
  a = in.Args(sv, slots, starts, out, 64);
  a.out = TensorView(state.data(), DType::kF32, {3, 4, 8});
  EXPECT_THAT(backend->GatedDeltaNet(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must not alias state")));
}

}  // namespace
}  // namespace tpserve::ops
