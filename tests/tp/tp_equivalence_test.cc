// Same answer at any TP size: the golden models sharded over 2 and 4 ranks (threads, each with its
// own CPU backend and a shared-memory communicator; Gloo over loopback once) give transformers'
// greedy tokens, logits within the engine's tolerance of T = 1, and the same seeded samples.
#include <memory>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/store.h"
#include "ops/comm/gloo/gloo_communicator.h"
#include "ops/comm/shm/shm_communicator.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "tests/shard/golden_model.h"
#include "tests/testing/status_matchers.h"
#include "tools/model/generator.h"

namespace tpserve {
namespace {

using testing::GoldenManifest;

struct RankOutput {
  std::vector<std::vector<int32_t>> tokens;  // per request
  std::vector<std::vector<float>> logits;    // per request: rows that chose each token
};

// Runs `requests` on `model_dir` sharded over tp ranks (threads); returns every rank's output.
std::vector<RankOutput> RunSharded(const std::string& model_dir, int tp,
                                   const std::vector<tools::GenerationRequest>& requests,
                                   bool gloo = false) {
  comm::InProcessStore store;
  std::vector<RankOutput> out(static_cast<size_t>(tp));
  std::vector<std::thread> ranks;
  for (int r = 0; r < tp; ++r) {
    ranks.emplace_back([&, r] {
      ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({.cpu_threads = 1}));
      std::unique_ptr<comm::Communicator> comm;
      if (gloo) {
        ASSERT_OK_AND_ASSIGN(comm, comm::CreateGlooCommunicator(store, r, tp, {}));
      } else {
        ASSERT_OK_AND_ASSIGN(comm, comm::CreateShmCommunicator(store, r, tp, {}));
      }
      shard::ModelOptions options;
      options.max_slots = 4;
      options.max_context = 256;
      options.max_tokens_per_step = 256;
      options.kv_dtype = DType::kF32;
      ASSERT_OK_AND_ASSIGN(
          shard::LoadedModel loaded,
          shard::LoadQwen35Model(model_dir, *backend, {.tp_size = tp, .tp_rank = r}, options));
      ASSERT_OK(loaded.model->set_communicator(comm.get()));
      RankOutput& mine = out[static_cast<size_t>(r)];
      mine.logits.resize(requests.size());
      tools::GeneratorOptions gen;
      gen.on_logits = [&](size_t i, absl::Span<const float> row) {
        mine.logits[i].insert(mine.logits[i].end(), row.begin(), row.end());
      };
      ASSERT_OK_AND_ASSIGN(auto results, tools::Generate(*loaded.model, requests, gen));
      for (auto& res : results) mine.tokens.push_back(res.tokens);
      EXPECT_EQ(loaded.model->memory().slots_in_use(), 0);
    });
  }
  for (auto& t : ranks) t.join();
  return out;
}

class TpEquivalenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TpEquivalenceTest, GreedyTokensAndLogitsMatchAtEveryTpSize) {
  ASSERT_OK_AND_ASSIGN(GoldenManifest m, testing::LoadGoldenManifest(GetParam()));
  std::vector<tools::GenerationRequest> requests;
  for (const auto& c : m.cases) {
    if (c.name == "p1" || c.name == "p37" || c.name == "p150") {
      requests.push_back({.prompt = c.prompt, .max_new_tokens = 32});
    }
  }
  ASSERT_EQ(requests.size(), 3u);
  const std::vector<RankOutput> t1 = RunSharded(m.model_dir, 1, requests);
  ASSERT_EQ(t1[0].tokens.size(), requests.size());
  for (int tp : {2, 4}) {
    const std::vector<RankOutput> tn = RunSharded(m.model_dir, tp, requests);
    for (int r = 0; r < tp; ++r) {
      ASSERT_EQ(tn[static_cast<size_t>(r)].tokens.size(), requests.size()) << "rank " << r;
      for (size_t i = 0; i < requests.size(); ++i) {
        EXPECT_EQ(tn[static_cast<size_t>(r)].tokens[i], t1[0].tokens[i])
            << "T=" << tp << " rank " << r;
        EXPECT_LE(testing::MaxRelError(tn[static_cast<size_t>(r)].logits[i], t1[0].logits[i]), 1e-4)
            << "T=" << tp << " rank " << r << " request " << i;
      }
    }
  }
  // The TCP transport (what ranks on different hosts use) gives the same tokens.
  const std::vector<RankOutput> gloo = RunSharded(m.model_dir, 2, requests, /*gloo=*/true);
  for (size_t j = 0; j < requests.size(); ++j) EXPECT_EQ(gloo[1].tokens[j], t1[0].tokens[j]);
  // And T = 1 is transformers' greedy continuation.
  size_t i = 0;
  for (const auto& c : m.cases) {
    if (c.name == "p1" || c.name == "p37" || c.name == "p150") {
      EXPECT_EQ(t1[0].tokens[i++], c.greedy_tokens);
    }
  }
}

TEST_P(TpEquivalenceTest, SeededSamplingGivesTheSameTokensAtEveryTpSize) {
  ASSERT_OK_AND_ASSIGN(GoldenManifest m, testing::LoadGoldenManifest(GetParam()));
  tools::GenerationRequest req{.prompt = m.cases[1].prompt, .max_new_tokens = 24};
  req.sampling.temperature = 1.0f;
  req.sampling.top_k = 40;
  req.sampling.top_p = 0.95f;
  req.sampling.seed = 1234;
  const auto t1 = RunSharded(m.model_dir, 1, {req});
  const auto t2 = RunSharded(m.model_dir, 2, {req});
  const auto t4 = RunSharded(m.model_dir, 4, {req});
  EXPECT_EQ(t2[0].tokens, t1[0].tokens);
  EXPECT_EQ(t4[0].tokens, t1[0].tokens);
  EXPECT_EQ(t4[3].tokens, t1[0].tokens);
}

INSTANTIATE_TEST_SUITE_P(Golden, TpEquivalenceTest,
                         ::testing::Values("tiny_r1_tied", "tiny_r2_untied", "tiny_r3_bf16"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace tpserve
