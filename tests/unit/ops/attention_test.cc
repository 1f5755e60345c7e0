// Attention over a paged cache (shuffled physical blocks): prefill from scratch, decode, chunked
// prefill after cached context, long chunks (several query blocks), an empty sequence; GQA groups
// of 2 and 3; f32 and bf16 caches; head_dim not a multiple of the vector width; causal and not;
// every ISA, 1 and 2 threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/dtype.h"
#include "tests/reference/reference_ops.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/ops/ops_test_util.h"

namespace tpserve::ops {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

struct Seq {
  int32_t tokens;   // query tokens in this call
  int32_t context;  // cached tokens including them
};

struct Setup {
  int64_t heads, kv_heads, d, block_size;
  DType cache_dtype;
  bool causal;
  std::vector<Seq> seqs;
};

void RunSetup(const Setup& su, uint64_t seed) {
  const int64_t num_seqs = static_cast<int64_t>(su.seqs.size());
  std::vector<int32_t> starts = {0}, ctx;
  int64_t max_blocks = 1, used_blocks = 0;
  for (const Seq& s : su.seqs) {
    starts.push_back(starts.back() + s.tokens);
    ctx.push_back(s.context);
    const int64_t nb = (s.context + su.block_size - 1) / su.block_size;
    max_blocks = std::max(max_blocks, nb + 1);
    used_blocks += nb;
  }
  const int64_t n = starts.back();
  const int64_t num_blocks = used_blocks + 3;
  const int64_t rows = num_blocks * su.block_size;
  // Physical blocks in a scrambled order; unused table entries hold garbage that must not be read.
  std::vector<int32_t> perm(static_cast<size_t>(num_blocks));
  for (int64_t i = 0; i < num_blocks; ++i)
    perm[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7 + 3) % num_blocks);
  std::vector<int32_t> tables(static_cast<size_t>(num_seqs * max_blocks), 1 << 29);
  int64_t next = 0;
  for (int64_t s = 0; s < num_seqs; ++s) {
    for (int64_t b = 0; b * su.block_size < ctx[static_cast<size_t>(s)]; ++b) {
      tables[static_cast<size_t>(s * max_blocks + b)] = perm[static_cast<size_t>(next++)];
    }
  }
  const int64_t row_elems = su.kv_heads * su.d;
  const std::vector<float> kf = testing::Random(rows * row_elems, seed, -1.0f, 1.0f);
  const std::vector<float> vf = testing::Random(rows * row_elems, seed + 1, -1.0f, 1.0f);
  std::vector<uint8_t> kc, vc;
  std::vector<double> kvals, vvals;
  if (su.cache_dtype == DType::kF32) {
    kc.resize(kf.size() * 4);
    vc.resize(vf.size() * 4);
    std::memcpy(kc.data(), kf.data(), kc.size());
    std::memcpy(vc.data(), vf.data(), vc.size());
    kvals = testing::ToF64(kf);
    vvals = testing::ToF64(vf);
  } else {
    const auto kb = testing::ToBf16(kf), vb = testing::ToBf16(vf);
    kc.resize(kb.size() * 2);
    vc.resize(vb.size() * 2);
    std::memcpy(kc.data(), kb.data(), kc.size());
    std::memcpy(vc.data(), vb.data(), vc.size());
    kvals = testing::Bf16Values(kb);
    vvals = testing::Bf16Values(vb);
  }
  std::vector<std::vector<double>> keys(static_cast<size_t>(num_seqs)), values(keys.size());
  for (int64_t s = 0; s < num_seqs; ++s) {
    for (int64_t j = 0; j < ctx[static_cast<size_t>(s)]; ++j) {
      const int64_t r =
          tables[static_cast<size_t>(s * max_blocks + j / su.block_size)] * su.block_size +
          j % su.block_size;
      for (int64_t e = 0; e < row_elems; ++e) {
        keys[static_cast<size_t>(s)].push_back(kvals[static_cast<size_t>(r * row_elems + e)]);
        values[static_cast<size_t>(s)].push_back(vvals[static_cast<size_t>(r * row_elems + e)]);
      }
    }
  }
  // q heads are the first halves of q_proj's per-head [query | gate] rows.
  const std::vector<float> qbuf = testing::Random(n * su.heads * 2 * su.d, seed + 2, -1.0f, 1.0f);
  std::vector<double> q;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < su.heads; ++h) {
      for (int64_t c = 0; c < su.d; ++c)
        q.push_back(qbuf[static_cast<size_t>((t * su.heads + h) * 2 * su.d + c)]);
    }
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(su.d)) * 2.0;  // sharper than usual
  const std::vector<double> want = reference::Attention(q, n, su.heads, su.d, keys, values,
                                                        su.kv_heads, starts, ctx, scale, su.causal);
  for (CpuIsa isa : testing::SupportedIsas()) {
    testing::ScopedIsa scoped(isa);
    for (int threads : testing::kThreadCounts) {
      SCOPED_TRACE(absl::StrCat("isa=", CpuIsaName(isa), " threads=", threads));
      auto backend = testing::MakeCpuBackend(threads);
      std::vector<float> out(static_cast<size_t>(n * su.heads * su.d), NAN);
      AttentionArgs args;
      args.q = ConstTensorView(qbuf.data(), DType::kF32, {n, su.heads, su.d},
                               {su.heads * 2 * su.d, 2 * su.d, 1, 0});
      args.k_cache = ConstTensorView(kc.data(), su.cache_dtype, {rows, su.kv_heads, su.d});
      args.v_cache = ConstTensorView(vc.data(), su.cache_dtype, {rows, su.kv_heads, su.d});
      args.block_tables = ConstTensorView(tables.data(), DType::kI32, {num_seqs, max_blocks});
      args.seq_starts = ConstTensorView(starts.data(), DType::kI32, {num_seqs + 1});
      args.context_lens = ConstTensorView(ctx.data(), DType::kI32, {num_seqs});
      args.out = TensorView(out.data(), DType::kF32, {n, su.heads, su.d});
      args.block_size = su.block_size;
      args.scale = static_cast<float>(scale);
      args.causal = su.causal;
      ASSERT_OK(backend->Attention(args));
      // Outputs are convex combinations of values in [-1, 1].
      EXPECT_TRUE(testing::AllClose(out, want, 1e-5, 2e-6));
    }
  }
}

TEST(AttentionTest, CausalF32CacheGroupOf2) {
  RunSetup({4, 2, 32, 4, DType::kF32, true, {{9, 9}, {1, 14}, {5, 20}, {0, 0}, {20, 40}}}, 1);
}

TEST(AttentionTest, CausalBf16CacheGroupOf3OddHeadDim) {
  RunSetup({6, 2, 40, 16, DType::kBF16, true, {{9, 9}, {1, 14}, {5, 20}, {0, 0}, {20, 40}}}, 2);
}

TEST(AttentionTest, DecodeLongContextNoGqa) {
  RunSetup({2, 2, 256, 16, DType::kBF16, true, {{1, 300}, {1, 17}, {3, 50}}}, 3);
}

TEST(AttentionTest, NonCausalSeesWholeContext) {
  RunSetup({4, 1, 24, 8, DType::kF32, false, {{7, 7}, {3, 10}, {17, 17}}}, 4);
}

TEST(AttentionTest, RejectsBadArguments) {
  auto backend = testing::MakeCpuBackend(1);
  std::vector<float> q(2 * 4 * 8), kc(16 * 2 * 8), vc(16 * 2 * 8), out(2 * 4 * 8);
  std::vector<int32_t> tables = {3, 1}, starts = {0, 2}, ctx = {5};
  const auto good = [&] {
    AttentionArgs a;
    a.q = ConstTensorView(q.data(), DType::kF32, {2, 4, 8});
    a.k_cache = ConstTensorView(kc.data(), DType::kF32, {16, 2, 8});
    a.v_cache = ConstTensorView(vc.data(), DType::kF32, {16, 2, 8});
    a.block_tables = ConstTensorView(tables.data(), DType::kI32, {1, 2});
    a.seq_starts = ConstTensorView(starts.data(), DType::kI32, {2});
    a.context_lens = ConstTensorView(ctx.data(), DType::kI32, {1});
    a.out = TensorView(out.data(), DType::kF32, {2, 4, 8});
    a.block_size = 4;
    return a;
  };
  ASSERT_OK(backend->Attention(good()));
  tables = {3, 4};
  EXPECT_THAT(backend->Attention(good()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("block_tables[0, 1]=4 is outside [0, num_blocks=4)")));
  tables = {3, 1};
  ctx = {1};
  EXPECT_THAT(backend->Attention(good()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("context_lens[0]=1 must be at least the sequence's 2")));
  ctx = {9};
  EXPECT_THAT(backend->Attention(good()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at most max_blocks_per_seq * block_size = 8")));
  ctx = {5};
  AttentionArgs a = good();
  a.block_size = 3;
  EXPECT_THAT(backend->Attention(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("block_size must be > 0 and divide the cache rows (16)")));
  a = good();
  a.q = ConstTensorView(q.data(), DType::kF32, {2, 3, 8});
  a.out = TensorView(out.data(), DType::kF32, {2, 3, 8});
  EXPECT_THAT(backend->Attention(a),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("q heads (3) must be a multiple of the cache's kv_heads (2)")));
  a = good();
  a.v_cache = ConstTensorView(vc.data(), DType::kF32, {16, 2, 4});
  EXPECT_THAT(
      backend->Attention(a),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("v_cache must be f32|bf16[num_blocks*block_size=16, kv_heads=2, head_dim=8]")));
  a = good();
  a.out = TensorView(q.data(), DType::kF32, {2, 4, 8});
  EXPECT_THAT(backend->Attention(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must not alias q")));
}

}  // namespace
}  // namespace tpserve::ops
