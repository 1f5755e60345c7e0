// The leader scheduler's steps as plain classes (TensorRT-LLM's capacity-scheduler tests): budget
// splitting, admission by slots and KV blocks, priority/FIFO order, retiring.
#include <memory>
#include <numeric>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/worker/fake_step_engine.h"
#include "worker/scheduler/admit_requests.h"
#include "worker/scheduler/apply_step_result.h"
#include "worker/scheduler/batch_state.h"
#include "worker/scheduler/build_step_plan.h"

namespace tpserve::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::RecordingSink;
using tpserve::testing::StatusIs;

EngineLimits Limits(int32_t slots, int64_t blocks) {
  EngineLimits l;
  l.max_slots = slots;
  l.max_context = 1024;
  l.max_tokens_per_step = 256;
  l.max_logit_rows = 256;
  l.kv_block_size = 16;
  l.num_kv_blocks = blocks;
  l.vocab_size = 64;
  return l;
}

std::unique_ptr<Sequence> Seq(uint64_t id, int32_t prompt_len, int32_t max_tokens,
                              int32_t priority = 0) {
  GenerateParams p;
  p.prompt.resize(static_cast<size_t>(prompt_len));
  std::iota(p.prompt.begin(), p.prompt.end(), 1);
  for (int32_t& t : p.prompt) t %= 64;
  p.max_tokens = max_tokens;
  p.priority = priority;
  return std::make_unique<Sequence>(id, std::move(p), std::make_shared<RecordingSink>());
}

std::vector<uint64_t> Ids(const std::vector<std::unique_ptr<Sequence>>& v) {
  std::vector<uint64_t> out;
  for (const auto& s : v) out.push_back(s->id);
  return out;
}

TEST(BuildStepPlanTest, DecodesGoFirstThenPromptChunksFillTheBudget) {
  BatchState state(4);
  const AdmitRequests admit(Limits(4, 1000));
  // Two sequences already decoding, one long prompt arriving.
  for (uint64_t id : {1u, 2u}) {
    state.Enqueue(Seq(id, 5, 50));
  }
  state.Enqueue(Seq(3, 300, 10));
  ASSERT_EQ(admit.Run(state, absl::Now()), 3);
  for (int i = 0; i < 2; ++i) {
    Sequence& s = *state.running()[static_cast<size_t>(i)];
    s.prefilled = s.prompt_len();
    s.slot_acquired = true;
    s.history.push_back(7);  // its first sampled token
  }
  const BuildStepPlan build(64);
  PlannedStep step = build.Run(state, 9);
  EXPECT_EQ(step.plan.step_id, 9u);
  ASSERT_EQ(step.plan.sequences.size(), 3u);
  EXPECT_EQ(step.decode_tokens, 2);
  EXPECT_EQ(step.prefill_tokens, 62);
  EXPECT_EQ(step.phase, StepPhase::kMixed);
  for (int i = 0; i < 2; ++i) {
    const shard::SequenceStep& d = step.plan.sequences[static_cast<size_t>(i)];
    EXPECT_THAT(d.token_ids, ElementsAre(7));
    EXPECT_EQ(d.start_index, 5);
    EXPECT_EQ(d.logits, shard::LogitsMode::kLast);
    EXPECT_FALSE(d.new_sequence);
  }
  const shard::SequenceStep& chunk = step.plan.sequences[2];
  EXPECT_TRUE(chunk.new_sequence);
  EXPECT_EQ(chunk.start_index, 0);
  EXPECT_EQ(chunk.token_ids.size(), 62u);
  EXPECT_EQ(chunk.logits, shard::LogitsMode::kNone);  // the prompt is not done

  // The chunk ran: the next plan continues the prompt where it stopped.
  state.running()[2]->prefilled = 62;
  state.running()[2]->slot_acquired = true;
  step = build.Run(state, 10);
  ASSERT_EQ(step.plan.sequences.size(), 3u);
  EXPECT_FALSE(step.plan.sequences[2].new_sequence);
  EXPECT_EQ(step.plan.sequences[2].start_index, 62);
  EXPECT_EQ(step.plan.sequences[2].token_ids.front(), state.running()[2]->params.prompt[62]);
}

TEST(BuildStepPlanTest, TheChunkThatEndsAPromptAsksForLogits) {
  BatchState state(2);
  state.Enqueue(Seq(1, 40, 4));
  ASSERT_EQ(AdmitRequests(Limits(2, 100)).Run(state, absl::Now()), 1);
  state.running()[0]->prefilled = 30;
  state.running()[0]->slot_acquired = true;
  const PlannedStep step = BuildStepPlan(64).Run(state, 0);
  ASSERT_EQ(step.plan.sequences.size(), 1u);
  EXPECT_EQ(step.plan.sequences[0].token_ids.size(), 10u);
  EXPECT_EQ(step.plan.sequences[0].logits, shard::LogitsMode::kLast);
  EXPECT_EQ(step.phase, StepPhase::kPrefill);
}

TEST(BuildStepPlanTest, RetiredSlotsAreReleasedByTheNextPlanAndFreeAtOnce) {
  BatchState state(1);
  state.Enqueue(Seq(1, 4, 4));
  state.Enqueue(Seq(2, 4, 4));
  const AdmitRequests admit(Limits(1, 100));
  ASSERT_EQ(admit.Run(state, absl::Now()), 1);
  state.running()[0]->slot_acquired = true;
  const int32_t slot = state.running()[0]->slot;
  state.Retire(0);
  // The slot is free for the next admission in the same plan: the model releases first.
  ASSERT_EQ(admit.Run(state, absl::Now()), 1);
  EXPECT_EQ(state.running()[0]->slot, slot);
  const PlannedStep step = BuildStepPlan(64).Run(state, 0);
  EXPECT_THAT(step.plan.release_slots, ElementsAre(slot));
  ASSERT_EQ(step.plan.sequences.size(), 1u);
  EXPECT_TRUE(step.plan.sequences[0].new_sequence);
  EXPECT_FALSE(state.has_pending_release());
}

TEST(BuildStepPlanTest, ChunksCarryTheirPositionsAndTheImagesTheyOverlap) {
  auto seq = Seq(1, 40, 4);
  for (int32_t i = 0; i < 40; ++i) seq->params.positions.push_back({i, i + 100, i + 200});
  seq->params.position_offset = -7;
  auto bytes = std::make_shared<const std::string>("png");
  seq->params.images.push_back({shard::StepImage{bytes, 5}, 10});  // pads [5, 15)
  seq->params.images.push_back({shard::StepImage{bytes, 30}, 4});  // pads [30, 34)
  BatchState state(1);
  state.Enqueue(std::move(seq));
  ASSERT_EQ(AdmitRequests(Limits(1, 100)).Run(state, absl::Now()), 1);
  Sequence& s = *state.running()[0];
  const BuildStepPlan build(16);
  PlannedStep step = build.Run(state, 0);  // tokens [0, 16): the first image only
  ASSERT_EQ(step.plan.sequences[0].positions.size(), 16u);
  EXPECT_EQ(step.plan.sequences[0].positions[3], (std::array<int32_t, 3>{3, 103, 203}));
  ASSERT_EQ(step.plan.sequences[0].images.size(), 1u);
  EXPECT_EQ(step.plan.sequences[0].images[0].first_token, 5);
  s.prefilled = 16;
  s.slot_acquired = true;
  step = build.Run(state, 1);  // [16, 32): the second image
  EXPECT_EQ(step.plan.sequences[0].positions[0], (std::array<int32_t, 3>{16, 116, 216}));
  ASSERT_EQ(step.plan.sequences[0].images.size(), 1u);
  EXPECT_EQ(step.plan.sequences[0].images[0].first_token, 30);
  s.prefilled = 40;
  s.history.push_back(9);
  step = build.Run(state, 2);  // a decode: text positions after the images' delta
  EXPECT_TRUE(step.plan.sequences[0].positions.empty());
  EXPECT_EQ(step.plan.sequences[0].position_offset, -7);
  EXPECT_TRUE(step.plan.sequences[0].images.empty());
}

TEST(AdmitRequestsTest, AdmitsOnlyWhatTheFreeKvBlocksCanHold) {
  // 10 blocks of 16 tokens. A: 100 + 20 tokens = 8 blocks. B: 60 + 10 = 5 blocks.
  const AdmitRequests admit(Limits(4, 10));
  BatchState state(4);
  state.Enqueue(Seq(1, 100, 20));
  state.Enqueue(Seq(2, 60, 10));
  EXPECT_EQ(admit.Run(state, absl::Now()), 1);
  EXPECT_EQ(state.blocks_committed(), 8);
  EXPECT_THAT(Ids(state.waiting()), ElementsAre(2u));  // slots are free, blocks are not
  state.Retire(0);
  EXPECT_EQ(state.blocks_committed(), 0);
  EXPECT_EQ(admit.Run(state, absl::Now()), 1);
  EXPECT_EQ(state.blocks_committed(), 5);
}

TEST(AdmitRequestsTest, AdmitsOnlyWhileSlotsAreFree) {
  const AdmitRequests admit(Limits(2, 1000));
  BatchState state(2);
  for (uint64_t id = 1; id <= 3; ++id) state.Enqueue(Seq(id, 4, 4));
  EXPECT_EQ(admit.Run(state, absl::Now()), 2);
  EXPECT_THAT(Ids(state.waiting()), ElementsAre(3u));
  EXPECT_EQ(state.free_slots(), 0);
}

TEST(AdmitRequestsTest, HigherPriorityFirstThenFifo) {
  BatchState state(1);
  state.Enqueue(Seq(1, 4, 4, 0));
  state.Enqueue(Seq(2, 4, 4, 5));
  state.Enqueue(Seq(3, 4, 4, 0));
  state.Enqueue(Seq(4, 4, 4, 5));
  state.Enqueue(Seq(5, 4, 4, -1));
  EXPECT_THAT(Ids(state.waiting()), ElementsAre(2u, 4u, 1u, 3u, 5u));
  const AdmitRequests admit(Limits(1, 1000));
  std::vector<uint64_t> order;
  while (!state.waiting().empty()) {
    ASSERT_EQ(admit.Run(state, absl::Now()), 1);
    order.push_back(state.running()[0]->id);
    state.Retire(0);
  }
  EXPECT_THAT(order, ElementsAre(2u, 4u, 1u, 3u, 5u));
}

TEST(AdmitRequestsTest, TheHeadOfTheQueueIsNotOvertaken) {
  // The head needs 8 blocks, 6 are free; a small request behind it (1 block) waits too, so a
  // stream of small requests cannot starve a large one.
  const AdmitRequests admit(Limits(4, 10));
  BatchState state(4);
  state.Enqueue(Seq(1, 40, 20));   // 4 blocks
  state.Enqueue(Seq(2, 100, 20));  // 8 blocks
  state.Enqueue(Seq(3, 4, 4));     // 1 block
  EXPECT_EQ(admit.Run(state, absl::Now()), 1);
  EXPECT_THAT(Ids(state.waiting()), ElementsAre(2u, 3u));
}

TEST(AdmitRequestsTest, CheckFitsSaysNeverOrBadRequest) {
  const AdmitRequests admit(Limits(4, 10));
  GenerateParams p;
  p.prompt = {1, 2, 3};
  p.max_tokens = 4;
  EXPECT_OK(admit.CheckFits(p));
  p.max_tokens = 200;  // 203 tokens = 13 blocks > 10 in the whole pool
  EXPECT_THAT(admit.CheckFits(p),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("13 KV blocks")));
  p.max_tokens = 2000;
  EXPECT_THAT(admit.CheckFits(p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("context length")));
  p.max_tokens = 0;
  EXPECT_THAT(admit.CheckFits(p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_tokens")));
  p.max_tokens = 4;
  p.prompt = {1, 64};
  EXPECT_THAT(admit.CheckFits(p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prompt_ids[1]")));
  p.prompt = {};
  EXPECT_THAT(admit.CheckFits(p), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  p.prompt = {1};
  p.sampling.allowed_tokens = {{100, 200}};
  EXPECT_THAT(admit.CheckFits(p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("allowed_tokens")));
  p.sampling.allowed_tokens = {};
  p.sampling.temperature = -1;
  EXPECT_THAT(admit.CheckFits(p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("temperature")));
}

TEST(ApplyStepResultTest, SamplesStreamsAndRetiresOnStopOrLength) {
  const EngineLimits limits = Limits(2, 100);
  testing::FakeStepEngine engine(limits);
  BatchState state(2);
  auto a = Seq(1, 3, 2);  // ends by length after 2 tokens
  auto b = Seq(2, 3, 100);
  // Retired sequences are destroyed: keep the sinks.
  auto sink_a = std::static_pointer_cast<RecordingSink>(a->sink);
  auto sink_b = std::static_pointer_cast<RecordingSink>(b->sink);
  // b stops at its first token.
  b->params.stop_token_ids = {testing::FakeNextToken(b->params.prompt, limits.vocab_size)};
  state.Enqueue(std::move(a));
  state.Enqueue(std::move(b));
  ASSERT_EQ(AdmitRequests(limits).Run(state, absl::Now()), 2);
  const BuildStepPlan build(64);
  const ApplyStepResult apply;
  for (uint64_t step_id = 0; step_id < 3; ++step_id) {
    PlannedStep step = build.Run(state, step_id);
    ASSERT_OK_AND_ASSIGN(auto rows, engine.Run(step.plan));
    apply.Run(state, step, rows, 0.001, absl::Now());
  }
  EXPECT_EQ(sink_a->finish(), FinishReason::kLength);
  EXPECT_EQ(sink_a->tokens(), testing::FakeGenerate({1, 2, 3}, 2, limits.vocab_size));
  EXPECT_EQ(sink_b->finish(), FinishReason::kStopToken);
  EXPECT_EQ(sink_b->tokens().size(), 1u);
  EXPECT_TRUE(state.running().empty());
  // The last plan released both slots.
  EXPECT_EQ(engine.memory_usage().slots_in_use, 0);
  const std::vector<SequenceUpdate> updates = sink_a->updates();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_TRUE(updates[0].first);
  EXPECT_EQ(updates[0].prompt_tokens, 3);
  EXPECT_EQ(updates[0].batch_sequences, 2);
  EXPECT_FALSE(updates[1].first);
}

TEST(PhaseOfTest, ClassifiesAFollowersPlan) {
  shard::StepPlan plan;
  EXPECT_EQ(PhaseOf(plan), StepPhase::kNone);
  plan.sequences.push_back(
      {.slot = 0, .start_index = 4, .token_ids = {1}, .logits = shard::LogitsMode::kLast});
  EXPECT_EQ(PhaseOf(plan), StepPhase::kDecode);
  plan.sequences.push_back(
      {.slot = 1, .start_index = 0, .token_ids = {1, 2}, .new_sequence = true});
  EXPECT_EQ(PhaseOf(plan), StepPhase::kMixed);
  plan.sequences.erase(plan.sequences.begin());
  EXPECT_EQ(PhaseOf(plan), StepPhase::kPrefill);
}

}  // namespace
}  // namespace tpserve::worker
