#include "worker/plan_codec.h"

#include <functional>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/group_setup.h"

namespace tpserve::worker {
namespace {

using testing::StatusIs;

// FNV-1a 64 of step.proto's descriptor text at STEP_PROTOCOL_VERSION 4 (2: GroupSetup gained
// rendezvous_prefix and transport for service-mode groups; 3: SequenceStep.images carries image
// bytes, GroupSetup.vision_parallelism; 4: FollowerHello.join_token).
constexpr uint64_t kPinnedFingerprint = 1593682148011758821ull;

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

TEST(PlanCodecTest, RoundTripKeepsEveryField) {
  shard::StepPlan plan;
  plan.step_id = 77;
  plan.release_slots = {3, 1};
  plan.sequences.push_back({.slot = 2,
                            .start_index = 5,
                            .token_ids = {9, 8, 7},
                            .positions = {{5, 6, 7}, {8, 9, 10}, {11, 11, 11}},
                            .position_offset = -3,
                            .logits = shard::LogitsMode::kAll,
                            .new_sequence = true,
                            .images = {{std::make_shared<const std::string>("\x89PNG bytes"), 1}}});
  plan.sequences.push_back(
      {.slot = 0, .start_index = 40, .token_ids = {1}, .logits = shard::LogitsMode::kNone});
  cluster::v1::StepPlan wire;
  EncodePlan(plan, &wire);
  std::string bytes;
  ASSERT_TRUE(wire.SerializeToString(&bytes));
  cluster::v1::StepPlan parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  ASSERT_OK_AND_ASSIGN(shard::StepPlan back, DecodePlan(parsed));
  EXPECT_EQ(back.step_id, 77u);
  EXPECT_EQ(back.release_slots, plan.release_slots);
  ASSERT_EQ(back.sequences.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& a = plan.sequences[i];
    const auto& b = back.sequences[i];
    EXPECT_EQ(a.slot, b.slot);
    EXPECT_EQ(a.start_index, b.start_index);
    EXPECT_EQ(a.token_ids, b.token_ids);
    EXPECT_EQ(a.positions, b.positions);
    EXPECT_EQ(a.position_offset, b.position_offset);
    EXPECT_EQ(a.logits, b.logits);
    EXPECT_EQ(a.new_sequence, b.new_sequence);
    ASSERT_EQ(a.images.size(), b.images.size());
    for (size_t k = 0; k < a.images.size(); ++k) {
      EXPECT_EQ(*a.images[k].bytes, *b.images[k].bytes);
      EXPECT_EQ(a.images[k].first_token, b.images[k].first_token);
    }
  }
}

TEST(PlanCodecTest, MismatchedPositionsAreRefused) {
  cluster::v1::StepPlan wire;
  auto* s = wire.add_sequences();
  s->add_token_ids(1);
  s->add_token_ids(2);
  s->add_positions();
  EXPECT_THAT(DecodePlan(wire), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Every rank builds its shard from the leader's GroupSetup: the options it carries, the vision
// tower's mode included, must come back unchanged after the wire.
TEST(PlanCodecTest, GroupSetupCarriesTheModelOptions) {
  for (shard::VisionParallelism mode :
       {shard::VisionParallelism::kAuto, shard::VisionParallelism::kTensorParallel,
        shard::VisionParallelism::kDataParallel}) {
    shard::ModelOptions o;
    o.max_slots = 5;
    o.max_context = 1234;
    o.max_tokens_per_step = 77;
    o.kv_block_size = 32;
    o.kv_dtype = DType::kBF16;
    o.delta_net_chunk_size = 16;
    o.vision_parallelism = mode;
    std::string bytes;
    ASSERT_TRUE(MakeGroupSetup("/m", 2, o).SerializeToString(&bytes));
    cluster::v1::GroupSetup wire;
    ASSERT_TRUE(wire.ParseFromString(bytes));
    EXPECT_EQ(wire.tp_size(), 2);
    ASSERT_OK_AND_ASSIGN(shard::ModelOptions back, ModelOptionsFromSetup(wire));
    EXPECT_EQ(back.max_slots, 5);
    EXPECT_EQ(back.max_context, 1234);
    EXPECT_EQ(back.max_tokens_per_step, 77);
    EXPECT_EQ(back.kv_block_size, 32);
    EXPECT_EQ(back.kv_dtype, DType::kBF16);
    EXPECT_EQ(back.delta_net_chunk_size, 16);
    EXPECT_EQ(back.vision_parallelism, mode);
  }
  cluster::v1::GroupSetup bad = MakeGroupSetup("/m", 2, shard::ModelOptions());
  bad.set_vision_parallelism("pipeline");
  EXPECT_THAT(ModelOptionsFromSetup(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("group setup: vision_parallelism")));
}

// The step protocol's schema is pinned: changing step.proto without bumping
// STEP_PROTOCOL_VERSION (and then this pin) fails here, so followers of an old build can never
// silently misread a new leader's plans.
TEST(PlanCodecTest, SchemaChangeNeedsAVersionBump) {
  const std::string schema = cluster::v1::ControlMessage::descriptor()->file()->DebugString();
  const uint64_t fingerprint = Fnv1a(schema);
  EXPECT_EQ(static_cast<int>(cluster::v1::STEP_PROTOCOL_VERSION), 4);
  EXPECT_EQ(fingerprint, kPinnedFingerprint)
      << "proto/tpserve/cluster/v1/step.proto changed: bump STEP_PROTOCOL_VERSION and update "
         "kPinnedFingerprint to "
      << fingerprint;
}

}  // namespace
}  // namespace tpserve::worker
