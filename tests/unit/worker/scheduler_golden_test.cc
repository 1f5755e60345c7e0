// The leader's scheduler on the real engine (the golden tiny models): N sequences through
// continuous batching — joining mid-stream, prompts prefilled in chunks beside running decodes,
// more sequences than slots — give exactly the greedy tokens each gets alone.
#include <memory>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "shard/step_runner.h"
#include "tests/shard/golden_model.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/worker/fake_step_engine.h"
#include "worker/scheduler/scheduler.h"
#include "worker/scheduler/step_engine.h"

namespace tpserve::worker {
namespace {

using testing::RecordingSink;

class SchedulerGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SchedulerGoldenTest, ConcurrentGreedySequencesMatchTheirSoloTokens) {
  ASSERT_OK_AND_ASSIGN(tpserve::testing::GoldenManifest m,
                       tpserve::testing::LoadGoldenManifest(GetParam()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ops::Backend> backend,
                       ops::CreateBackend({.cpu_threads = 2}));
  shard::ModelOptions options;
  options.max_slots = 5;
  options.max_context = 256;
  options.max_tokens_per_step = 48;  // p150 is prefilled in 4 chunks beside the others' decodes
  ASSERT_OK_AND_ASSIGN(shard::LoadedModel loaded,
                       shard::LoadQwen35Model(m.model_dir, *backend, {}, options));
  shard::LocalStepRunner runner(*loaded.model);
  RunnerStepEngine engine(runner);
  SchedulerOptions so;
  so.token_budget = 48;
  Scheduler scheduler(so, nullptr);
  absl::Status served;
  std::thread step_thread([&] { served = scheduler.Serve(engine, {}); });
  while (!scheduler.load().serving_once) absl::SleepFor(absl::Milliseconds(1));

  // Every case three times (12 sequences over 5 slots), staggered so later ones join running
  // batches at different points.
  struct Submitted {
    const tpserve::testing::GoldenCase* c;
    std::shared_ptr<RecordingSink> sink;
  };
  std::vector<Submitted> all;
  for (int round = 0; round < 3; ++round) {
    for (const tpserve::testing::GoldenCase& c : m.cases) {
      GenerateParams p;
      p.prompt = c.prompt;
      p.max_tokens = static_cast<int32_t>(c.greedy_tokens.size());
      auto sink = std::make_shared<RecordingSink>();
      ASSERT_OK(scheduler.Submit(p, sink).status());
      all.push_back({&c, sink});
      if (round == 1) {
        ASSERT_TRUE(sink->AwaitTokens(1, absl::Seconds(60)));
      }
    }
  }
  for (const Submitted& s : all) {
    ASSERT_TRUE(s.sink->AwaitDone(absl::Seconds(120))) << s.c->name;
    EXPECT_OK(s.sink->error());
    EXPECT_EQ(s.sink->tokens(), s.c->greedy_tokens) << GetParam() << " " << s.c->name;
  }
  scheduler.BeginDrain(absl::Seconds(10));
  step_thread.join();
  EXPECT_OK(served);
  EXPECT_EQ(loaded.model->memory().slots_in_use(), 0);
  EXPECT_EQ(loaded.model->memory().blocks_in_use(), 0);
}

INSTANTIATE_TEST_SUITE_P(Golden, SchedulerGoldenTest,
                         ::testing::Values("tiny_r1_tied", "tiny_r2_untied", "tiny_r3_bf16"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace tpserve::worker
