#include "shard/state/sequence_memory.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/core/backend_registry.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::shard {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

SequenceMemoryConfig SmallConfig() {
  SequenceMemoryConfig c;
  c.max_slots = 2;
  c.max_context = 64;
  c.kv_block_size = 16;
  c.num_kv_blocks = 5;
  c.num_full_layers = 1;
  c.kv_heads = 1;
  c.head_dim = 4;
  c.num_linear_layers = 1;
  c.v_heads = 2;
  c.k_head_dim = 2;
  c.v_head_dim = 3;
  c.conv_channels = 10;
  c.conv_kernel = 4;
  return c;
}

TEST(SequenceMemoryTest, SlotsAndBlocksAreAccounted) {
  ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({}));
  ASSERT_OK_AND_ASSIGN(auto mem, SequenceMemory::Create(*backend, SmallConfig()));
  EXPECT_EQ(mem->max_blocks_per_seq(), 4);
  ASSERT_OK_AND_ASSIGN(int32_t a, mem->AcquireSlot());
  ASSERT_OK_AND_ASSIGN(int32_t b, mem->AcquireSlot());
  EXPECT_NE(a, b);
  EXPECT_THAT(mem->AcquireSlot().status(),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("slots")));
  ASSERT_OK(mem->Reserve(a, 33));  // 3 blocks
  EXPECT_EQ(mem->blocks_in_use(), 3);
  EXPECT_EQ(mem->reserved_tokens(a), 48);
  ASSERT_OK(mem->Reserve(a, 20));  // already covered
  EXPECT_EQ(mem->blocks_in_use(), 3);
  EXPECT_THAT(mem->Reserve(b, 48),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("KV cache full")));
  EXPECT_THAT(mem->Reserve(b, 65),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_context 64")));
  ASSERT_OK(mem->Reserve(b, 32));
  EXPECT_EQ(mem->blocks_in_use(), 5);
  // Block tables of the two slots are disjoint.
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) EXPECT_NE(mem->block_table(a)[i], mem->block_table(b)[j]);
  ASSERT_OK(mem->Release(a));
  EXPECT_EQ(mem->blocks_in_use(), 2);
  EXPECT_EQ(mem->slots_in_use(), 1);
  EXPECT_THAT(mem->Release(a),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an acquired slot")));
}

TEST(SequenceMemoryTest, AcquiredSlotStartsWithZeroState) {
  ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({}));
  ASSERT_OK_AND_ASSIGN(auto mem, SequenceMemory::Create(*backend, SmallConfig()));
  ASSERT_OK_AND_ASSIGN(int32_t a, mem->AcquireSlot());
  // Dirty the slot's state, release, and acquire again: it must be zero.
  ops::TensorView rec = mem->recurrent_state(0).Slice(0, a, a + 1);
  ops::TensorView conv = mem->conv_state(0).Slice(0, a, a + 1);
  ASSERT_OK(backend->Fill(rec, 3.0f));
  ASSERT_OK(backend->Fill(conv, -2.0f));
  mem->set_length(a, 17);
  ASSERT_OK(mem->Release(a));
  ASSERT_OK_AND_ASSIGN(int32_t again, mem->AcquireSlot());
  ASSERT_EQ(again, a);
  EXPECT_EQ(mem->length(again), 0);
  const float* r = rec.As<float>();
  for (int64_t i = 0; i < rec.num_elements(); ++i) ASSERT_EQ(r[i], 0.0f);
  const float* c = conv.As<float>();
  for (int64_t i = 0; i < conv.num_elements(); ++i) ASSERT_EQ(c[i], 0.0f);
}

TEST(SequenceMemoryTest, RejectsBadConfig) {
  ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({}));
  SequenceMemoryConfig c = SmallConfig();
  c.kv_dtype = DType::kI32;
  EXPECT_THAT(SequenceMemory::Create(*backend, c).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kv_dtype")));
  c = SmallConfig();
  c.max_slots = 0;
  EXPECT_THAT(SequenceMemory::Create(*backend, c).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_slots")));
}

}  // namespace
}  // namespace tpserve::shard
