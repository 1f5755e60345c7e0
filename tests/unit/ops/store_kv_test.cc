// StoreKv: rows land where slot_mapping says (f32 exact, bf16 rounded to nearest even), others
// untouched; out-of-range slots are rejected.
#include <cstdint>
#include <cstring>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/dtype.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/ops/ops_test_util.h"

namespace tpserve::ops {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

constexpr int64_t kN = 5, kKvHeads = 2, kHeadDim = 24, kRows = 32;

TEST(StoreKvTest, WritesMappedRows) {
  const std::vector<int32_t> slots = {3, 17, 0, 31, 8};
  // k and v are views into a fused [n, 2 * kv_heads * head_dim] buffer.
  const std::vector<float> kv = testing::Random(kN * 2 * kKvHeads * kHeadDim, 12);
  const int64_t row = 2 * kKvHeads * kHeadDim;
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    for (int threads : testing::kThreadCounts) {
      auto backend = testing::MakeCpuBackend(threads);
      const size_t es = DTypeSize(dtype);
      const size_t cache_bytes = static_cast<size_t>(kRows * kKvHeads * kHeadDim) * es;
      std::vector<uint8_t> kc(cache_bytes, 0xAB), vc(cache_bytes, 0xCD);
      StoreKvArgs args;
      args.k =
          ConstTensorView(kv.data(), DType::kF32, {kN, kKvHeads, kHeadDim}, {row, kHeadDim, 1, 0});
      args.v = ConstTensorView(kv.data() + kKvHeads * kHeadDim, DType::kF32,
                               {kN, kKvHeads, kHeadDim}, {row, kHeadDim, 1, 0});
      args.slot_mapping = ConstTensorView(slots.data(), DType::kI32, {kN});
      args.k_cache = TensorView(kc.data(), dtype, {kRows, kKvHeads, kHeadDim});
      args.v_cache = TensorView(vc.data(), dtype, {kRows, kKvHeads, kHeadDim});
      ASSERT_OK(backend->StoreKv(args));
      for (int64_t r = 0; r < kRows; ++r) {
        int64_t t = -1;
        for (int64_t i = 0; i < kN; ++i) {
          if (slots[static_cast<size_t>(i)] == r) t = i;
        }
        for (int64_t e = 0; e < kKvHeads * kHeadDim; ++e) {
          const size_t off = static_cast<size_t>(r * kKvHeads * kHeadDim + e) * es;
          for (int which = 0; which < 2; ++which) {
            const std::vector<uint8_t>& cache = which == 0 ? kc : vc;
            if (t < 0) {
              ASSERT_EQ(cache[off], which == 0 ? 0xAB : 0xCD) << "row " << r << " was written";
              continue;
            }
            const float src = kv[static_cast<size_t>(t * row + which * kKvHeads * kHeadDim + e)];
            if (dtype == DType::kF32) {
              float got;
              std::memcpy(&got, &cache[off], 4);
              ASSERT_EQ(got, src);
            } else {
              uint16_t got;
              std::memcpy(&got, &cache[off], 2);
              ASSERT_EQ(got, F32ToBf16(src));
            }
          }
        }
      }
    }
  }
}

TEST(StoreKvTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> k(2 * 4), v(2 * 4), kc(8 * 4), vc(8 * 4);
  std::vector<int32_t> slots = {1, 8};
  StoreKvArgs a;
  a.k = ConstTensorView(k.data(), DType::kF32, {2, 1, 4});
  a.v = ConstTensorView(v.data(), DType::kF32, {2, 1, 4});
  a.slot_mapping = ConstTensorView(slots.data(), DType::kI32, {2});
  a.k_cache = TensorView(kc.data(), DType::kF32, {8, 1, 4});
  a.v_cache = TensorView(vc.data(), DType::kF32, {8, 1, 4});
  EXPECT_THAT(backend->StoreKv(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("slot_mapping[1]=8 is outside the cache rows [0, 8)")));
  slots[1] = -1;
  EXPECT_THAT(backend->StoreKv(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("slot_mapping[1]=-1")));
  slots[1] = 2;
  a.v_cache = TensorView(vc.data(), DType::kF32, {8, 1, 3});
  EXPECT_THAT(
      backend->StoreKv(a),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("v_cache must be f32|bf16[num_blocks*block_size=8, kv_heads=1, head_dim=4]")));
}

}  // namespace
}  // namespace tpserve::ops
