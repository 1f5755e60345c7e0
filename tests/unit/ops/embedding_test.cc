// Embedding: vocab-parallel gather in f32 / bf16 / f16, zeros outside the shard's rows.
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

TEST(EmbeddingTest, GathersShardRowsExactlyAndZerosTheRest) {
  constexpr int64_t kVocab = 50, kHidden = 37, kBegin = 100, kPad = 3;
  const std::vector<int32_t> ids = {100, 149, 150, 99, -1, 123, 100, 1 << 30};
  const int64_t n = static_cast<int64_t>(ids.size());
  const std::vector<float> tf = testing::Random(kVocab * kHidden, 1);
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    std::vector<uint8_t> table;
    std::vector<double> values;
    if (dtype == DType::kF32) {
      table.resize(tf.size() * 4);
      std::memcpy(table.data(), tf.data(), table.size());
      values = testing::ToF64(tf);
    } else {
      const auto h = dtype == DType::kBF16 ? testing::ToBf16(tf) : testing::ToF16(tf);
      table.resize(h.size() * 2);
      std::memcpy(table.data(), h.data(), table.size());
      values = dtype == DType::kBF16 ? testing::Bf16Values(h) : testing::F16Values(h);
    }
    const std::vector<double> want = reference::Embedding(values, kVocab, kHidden, ids, kBegin);
    for (int threads : testing::kThreadCounts) {
      auto backend = testing::MakeCpuBackend(threads);
      std::vector<float> out(static_cast<size_t>(n * (kHidden + kPad)), 7.0f);
      EmbeddingArgs args;
      args.table = ConstTensorView(table.data(), dtype, {kVocab, kHidden});
      args.ids = ConstTensorView(ids.data(), DType::kI32, {n});
      args.out = TensorView(out.data(), DType::kF32, {n, kHidden}, {kHidden + kPad, 1, 0, 0});
      args.vocab_begin = kBegin;
      ASSERT_OK(backend->Embedding(args));
      std::vector<float> got;
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t c = 0; c < kHidden + kPad; ++c) {
          const float v = out[static_cast<size_t>(t * (kHidden + kPad) + c)];
          if (c < kHidden) {
            got.push_back(v);
          } else {
            EXPECT_EQ(v, 7.0f) << "padding written, row " << t;
          }
        }
      }
      EXPECT_TRUE(testing::AllClose(got, want, 0.0, 0.0)) << "dtype " << DTypeName(dtype);
    }
  }
}

TEST(EmbeddingTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> table(40), out(40);
  std::vector<int32_t> ids = {0, 1};
  const auto good = [&] {
    EmbeddingArgs a;
    a.table = ConstTensorView(table.data(), DType::kF32, {10, 4});
    a.ids = ConstTensorView(ids.data(), DType::kI32, {2});
    a.out = TensorView(out.data(), DType::kF32, {2, 4});
    return a;
  };
  ASSERT_OK(backend->Embedding(good()));
  EmbeddingArgs a = good();
  a.ids.dtype = DType::kI64;
  EXPECT_THAT(backend->Embedding(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ids must be i32[n]")));
  a = good();
  a.out = TensorView(out.data(), DType::kF32, {2, 5});
  EXPECT_THAT(backend->Embedding(a), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("out must be f32[n=2, hidden=4]")));
  a = good();
  a.table = ConstTensorView(table.data(), DType::kF32, {5, 4}, {8, 1, 0, 0});
  EXPECT_THAT(backend->Embedding(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("table must be")));
}

}  // namespace
}  // namespace tpserve::ops
