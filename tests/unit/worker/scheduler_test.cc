// The Scheduler's loop end to end on a fake engine with closed-form logits: concurrency gives
// each sequence exactly what it gets alone, cancellation frees slots, budgets, failures.
#include "worker/scheduler/scheduler.h"

#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/worker/fake_step_engine.h"

namespace tpserve::worker {
namespace {

using testing::FakeGenerate;
using testing::FakeStepEngine;
using ::testing::HasSubstr;
using testing::RecordingSink;
using tpserve::testing::StatusIs;

constexpr absl::Duration kWait = absl::Seconds(20);

EngineLimits Limits() {
  EngineLimits l;
  l.max_slots = 4;
  l.max_context = 512;
  l.max_tokens_per_step = 256;
  l.max_logit_rows = 256;
  l.kv_block_size = 16;
  l.num_kv_blocks = 4 * 32;
  l.vocab_size = 97;
  return l;
}

GenerateParams Params(int32_t prompt_len, int32_t max_tokens, int32_t seed) {
  GenerateParams p;
  for (int32_t i = 0; i < prompt_len; ++i) p.prompt.push_back((seed * 31 + i * 7) % 97);
  p.max_tokens = max_tokens;
  return p;
}

// Runs Serve on its own thread for the test's lifetime.
class ServingScheduler {
 public:
  ServingScheduler(const SchedulerOptions& options, FakeStepEngine& engine,
                   WorkerMetrics* metrics = nullptr)
      : scheduler_(options, metrics), engine_(engine) {
    thread_ = std::thread([this] { result_ = scheduler_.Serve(engine_, {}); });
    // Serve accepts once it runs.
    const absl::Time until = absl::Now() + kWait;
    while (!scheduler_.load().serving_once && absl::Now() < until)
      absl::SleepFor(absl::Milliseconds(1));
  }
  ~ServingScheduler() {
    scheduler_.BeginDrain(absl::ZeroDuration());
    thread_.join();
  }
  Scheduler& operator*() { return scheduler_; }
  Scheduler* operator->() { return &scheduler_; }
  absl::Status Stop() {
    scheduler_.BeginDrain(kWait);
    thread_.join();
    thread_ = std::thread([] {});
    return result_;
  }

 private:
  Scheduler scheduler_;
  FakeStepEngine& engine_;
  std::thread thread_;
  absl::Status result_;
};

bool AwaitIdle(const Scheduler& s, FakeStepEngine& engine) {
  const absl::Time until = absl::Now() + kWait;
  while (absl::Now() < until) {
    const SchedulerLoad l = s.load();
    if (l.running == 0 && l.waiting == 0 && engine.memory_usage().slots_in_use == 0) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return false;
}

TEST(SchedulerTest, RejectsWhileNotServing) {
  Scheduler s(SchedulerOptions{}, nullptr);
  EXPECT_THAT(s.Submit(Params(3, 3, 1), std::make_shared<RecordingSink>()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("loading")));
}

TEST(SchedulerTest, ConcurrentSequencesGetExactlyWhatEachGetsAlone) {
  FakeStepEngine engine(Limits());
  SchedulerOptions options;
  options.token_budget = 32;  // long prompts take several steps, interleaved with decodes
  ServingScheduler s(options, engine);
  constexpr int kSequences = 16;
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<GenerateParams> params;
  // The first sequence's first step is held until the rest are queued, so they all meet in the
  // batch whatever the machine's speed.
  engine.Hold(true);
  for (int i = 0; i < kSequences; ++i) {
    params.push_back(Params(1 + (i * 37) % 150, 5 + i % 7, i));
    sinks.push_back(std::make_shared<RecordingSink>());
    ASSERT_OK(s->Submit(params.back(), sinks.back()).status());
    if (i == 0) {
      while (engine.steps() == 0) absl::SleepFor(absl::Milliseconds(1));
    }
  }
  engine.Hold(false);
  for (int i = 0; i < kSequences; ++i) {
    ASSERT_TRUE(sinks[static_cast<size_t>(i)]->AwaitDone(kWait)) << i;
    EXPECT_OK(sinks[static_cast<size_t>(i)]->error());
    EXPECT_EQ(sinks[static_cast<size_t>(i)]->terminal_calls(), 1);
    EXPECT_EQ(sinks[static_cast<size_t>(i)]->tokens(),
              FakeGenerate(params[static_cast<size_t>(i)].prompt,
                           params[static_cast<size_t>(i)].max_tokens, 97))
        << "sequence " << i;
    EXPECT_EQ(sinks[static_cast<size_t>(i)]->finish(), FinishReason::kLength);
  }
  ASSERT_TRUE(AwaitIdle(*s, engine));
  // Continuous batching happened: some step mixed decodes with a prompt chunk, no step exceeded
  // the budget, and no step held more sequences than slots.
  bool mixed = false;
  for (const shard::StepPlan& plan : engine.plans()) {
    EXPECT_LE(plan.num_tokens(), 32);
    EXPECT_LE(plan.sequences.size(), 4u);
    bool decode = false, prefill = false;
    for (const auto& q : plan.sequences) {
      (q.token_ids.size() == 1 && !q.new_sequence ? decode : prefill) = true;
    }
    mixed |= decode && prefill;
  }
  EXPECT_TRUE(mixed);
}

TEST(SchedulerTest, CancellingFreesTheSlotOnTheNextPlan) {
  FakeStepEngine engine(Limits());
  engine.set_step_delay(absl::Milliseconds(1));
  ServingScheduler s(SchedulerOptions{}, engine);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK_AND_ASSIGN(uint64_t id, s->Submit(Params(10, 400, 3), sink));
  ASSERT_TRUE(sink->AwaitTokens(3, kWait));
  EXPECT_EQ(engine.memory_usage().slots_in_use, 1);
  s->Cancel(id);
  ASSERT_TRUE(sink->AwaitDone(kWait));
  EXPECT_THAT(sink->error(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_FALSE(sink->finish().has_value());
  ASSERT_TRUE(AwaitIdle(*s, engine));
  EXPECT_EQ(engine.memory_usage().slots_in_use, 0);
  // A waiting (never admitted) sequence can be cancelled too, and an unknown id is ignored.
  s->Cancel(12345);
  EXPECT_EQ(sink->terminal_calls(), 1);
}

TEST(SchedulerTest, StopTokensEndAndAreIncluded) {
  FakeStepEngine engine(Limits());
  ServingScheduler s(SchedulerOptions{}, engine);
  GenerateParams p = Params(6, 50, 9);
  const std::vector<int32_t> alone = FakeGenerate(p.prompt, 50, 97);
  p.stop_token_ids = {alone[3]};
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(s->Submit(p, sink).status());
  ASSERT_TRUE(sink->AwaitDone(kWait));
  EXPECT_EQ(sink->finish(), FinishReason::kStopToken);
  EXPECT_EQ(sink->tokens(), FakeGenerate(p.prompt, 50, 97, p.stop_token_ids));
  EXPECT_EQ(sink->tokens().back(), alone[3]);
}

TEST(SchedulerTest, AllowedRangesHoldEvenForGreedy) {
  FakeStepEngine engine(Limits());
  ServingScheduler s(SchedulerOptions{}, engine);
  GenerateParams p = Params(5, 30, 4);
  p.sampling.allowed_tokens = {{10, 12}, {50, 51}};
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(s->Submit(p, sink).status());
  ASSERT_TRUE(sink->AwaitDone(kWait));
  ASSERT_EQ(sink->tokens().size(), 30u);
  for (int32_t t : sink->tokens()) EXPECT_TRUE(t == 10 || t == 11 || t == 50) << t;
}

TEST(SchedulerTest, ThinkingBudgetForcesTheEndToken) {
  FakeStepEngine engine(Limits());
  ServingScheduler s(SchedulerOptions{}, engine);
  GenerateParams p = Params(5, 12, 2);
  p.in_thinking = true;
  p.thinking_budget = 4;
  p.think_end_token_id = 96;
  p.sampling.allowed_tokens = {{0, 90}};  // the model never picks 96 itself
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(s->Submit(p, sink).status());
  ASSERT_TRUE(sink->AwaitDone(kWait));
  const std::vector<int32_t> tokens = sink->tokens();
  ASSERT_EQ(tokens.size(), 12u);
  for (int i = 0; i < 4; ++i) EXPECT_NE(tokens[static_cast<size_t>(i)], 96);
  EXPECT_EQ(tokens[4], 96);  // forced after 4 reasoning tokens
  for (size_t i = 5; i < tokens.size(); ++i) EXPECT_NE(tokens[i], 96);  // then the answer
}

TEST(SchedulerTest, AFailedStepEndsEverySequenceUnavailableAndStopsAccepting) {
  FakeStepEngine engine(Limits());
  engine.FailAtStep(3);
  engine.Hold(true);  // no step runs until all 8 are submitted (else step 3 could come first)
  Scheduler s(SchedulerOptions{}, nullptr);
  absl::Status served;
  std::thread t([&] { served = s.Serve(engine, {}); });
  while (!s.load().serving_once) absl::SleepFor(absl::Milliseconds(1));
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<absl::Status> submitted;
  for (int i = 0; i < 8; ++i) {  // 4 run, 4 wait
    sinks.push_back(std::make_shared<RecordingSink>());
    submitted.push_back(s.Submit(Params(20, 100, i), sinks.back()).status());
  }
  engine.Hold(false);
  t.join();
  for (const absl::Status& st : submitted) ASSERT_OK(st);
  EXPECT_THAT(served, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("fake rank 1 died")));
  for (const auto& sink : sinks) {
    ASSERT_TRUE(sink->AwaitDone(absl::ZeroDuration()));
    EXPECT_THAT(sink->error(),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("fake rank 1 died")));
    EXPECT_EQ(sink->terminal_calls(), 1);
  }
  EXPECT_THAT(s.Submit(Params(3, 3, 1), std::make_shared<RecordingSink>()),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(s.load().running, 0);
  EXPECT_EQ(s.load().waiting, 0);
}

TEST(SchedulerTest, HealthErrorsEndServeEvenWhenIdle) {
  FakeStepEngine engine(Limits());
  Scheduler s(SchedulerOptions{}, nullptr);
  int polls = 0;
  const absl::Status served = s.Serve(engine, [&]() -> absl::Status {
    return ++polls < 5 ? absl::OkStatus() : absl::UnavailableError("rank 1: connection closed");
  });
  EXPECT_THAT(served, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("rank 1")));
}

TEST(SchedulerTest, DrainLetsRunningSequencesFinishAndRefusesNewOnes) {
  FakeStepEngine engine(Limits());
  engine.set_step_delay(absl::Milliseconds(1));
  ServingScheduler s(SchedulerOptions{}, engine);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(s->Submit(Params(4, 40, 5), sink).status());
  ASSERT_TRUE(sink->AwaitTokens(1, kWait));
  s->BeginDrain(kWait);
  EXPECT_THAT(s->Submit(Params(3, 3, 1), std::make_shared<RecordingSink>()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
  EXPECT_OK(s.Stop());
  EXPECT_EQ(sink->finish(), FinishReason::kLength);
  EXPECT_EQ(sink->tokens().size(), 40u);
  EXPECT_EQ(engine.memory_usage().slots_in_use, 0);
}

TEST(SchedulerTest, DrainPastItsGraceEndsStreamsUnavailable) {
  FakeStepEngine engine(Limits());
  engine.set_step_delay(absl::Milliseconds(2));
  Scheduler s(SchedulerOptions{}, nullptr);
  absl::Status served;
  std::thread t([&] { served = s.Serve(engine, {}); });
  while (!s.load().serving_once) absl::SleepFor(absl::Milliseconds(1));
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(s.Submit(Params(4, 400, 5), sink).status());
  ASSERT_TRUE(sink->AwaitTokens(1, kWait));
  s.BeginDrain(absl::Milliseconds(20));
  t.join();
  EXPECT_OK(served);
  EXPECT_THAT(sink->error(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
  EXPECT_EQ(engine.memory_usage().slots_in_use, 0);  // released before Serve returned
}

TEST(SchedulerTest, TimingsAndMetricsAreReported) {
  prometheus::Registry registry;
  WorkerMetrics metrics(registry);
  FakeStepEngine engine(Limits());
  ServingScheduler s(SchedulerOptions{}, engine, &metrics);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_OK(s->Submit(Params(30, 6, 1), sink).status());
  ASSERT_TRUE(sink->AwaitDone(kWait));
  const std::vector<SequenceUpdate> updates = sink->updates();
  ASSERT_EQ(updates.size(), 6u);
  EXPECT_TRUE(updates[0].first);
  EXPECT_GE(updates[0].queue_seconds, 0);
  EXPECT_GE(updates[0].prefill_seconds, 0);
  EXPECT_EQ(updates[0].prompt_tokens, 30);
  for (const auto& u : updates) {
    EXPECT_GT(u.step_seconds, 0);
    EXPECT_EQ(u.batch_sequences, 1);
  }
  ASSERT_TRUE(AwaitIdle(*s, engine));
  double generated = 0, steps = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name == "tpserve_worker_generated_tokens_total")
      generated = family.metric[0].counter.value;
    if (family.name == "tpserve_worker_steps_total") steps = family.metric[0].counter.value;
  }
  EXPECT_EQ(generated, 6);
  EXPECT_GE(steps, 6);
}

}  // namespace
}  // namespace tpserve::worker
