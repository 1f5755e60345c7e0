// The engine against Hugging Face transformers on the golden tiny models (tests/golden/, made by
// tools/golden/make_golden.py). References are transformers float32 forwards; for the bf16 model
// the reference runs in float32 on the same bf16-rounded weights, which is the engine's contract
// (weights stored bf16, math in f32), so one tolerance covers all three models.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "tests/shard/golden_model.h"
#include "tests/testing/status_matchers.h"
#include "tools/model/generator.h"

namespace tpserve {
namespace {

using shard::LogitsMode;
using shard::ModelOptions;
using shard::StepPlan;
using testing::GoldenCase;
using testing::GoldenManifest;
using testing::MaxRelError;
using tools::GenerationRequest;
using tools::GeneratorOptions;

// Max abs error relative to the largest |logit| of the reference (the f32 bound).
constexpr double kVsTransformers = 1e-4;
// Two engine paths that are mathematically equal (chunked vs recurrent rule, chunkings, batched vs
// alone) differ only in f32 rounding. On tiny_r1_tied (max|logit| 62, residual gain 3) that
// rounding alone reaches 5e-5: tools/golden/ref_numpy.py's float64 forward puts transformers' own
// f32 error at 2.9e-5 there. So the bound is the same as against transformers.
constexpr double kEnginePaths = 1e-4;

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(manifest_, testing::LoadGoldenManifest(GetParam()));
    ASSERT_OK_AND_ASSIGN(backend_, ops::CreateBackend({.cpu_threads = 2}));
  }

  std::unique_ptr<shard::LoadedModel> Load(ModelOptions options = {}) {
    if (options.max_slots == 1) options.max_slots = 4;
    options.max_context = 512;
    options.max_tokens_per_step = 256;
    if (!options.kv_dtype.has_value()) options.kv_dtype = DType::kF32;
    auto loaded = shard::LoadQwen35Model(manifest_.model_dir, *backend_, {}, options);
    EXPECT_OK(loaded);
    if (!loaded.ok()) return nullptr;
    return std::make_unique<shard::LoadedModel>(std::move(*loaded));
  }

  // Logits of every prompt position, prefilled in chunks of `chunk`.
  std::vector<float> PromptLogits(shard::Qwen35Model& model, const std::vector<int32_t>& prompt,
                                  int64_t chunk) {
    std::vector<float> out;
    auto slot = model.memory().AcquireSlot();
    EXPECT_OK(slot);
    for (size_t begin = 0; begin < prompt.size(); begin += static_cast<size_t>(chunk)) {
      const size_t end = std::min(prompt.size(), begin + static_cast<size_t>(chunk));
      StepPlan plan;
      plan.sequences.push_back({.slot = *slot,
                                .start_index = static_cast<int32_t>(begin),
                                .token_ids = {prompt.begin() + static_cast<std::ptrdiff_t>(begin),
                                              prompt.begin() + static_cast<std::ptrdiff_t>(end)},
                                .logits = LogitsMode::kAll});
      auto logits = model.Forward(plan);
      EXPECT_OK(logits);
      if (!logits.ok()) break;
      for (int64_t r = 0; r < logits->rows(); ++r) {
        auto row = logits->Row(r);
        out.insert(out.end(), row.begin(), row.end());
      }
    }
    EXPECT_OK(model.memory().Release(*slot));
    return out;
  }

  struct Greedy {
    std::vector<std::vector<int32_t>> tokens;
    std::vector<std::vector<float>> logits;  // per request: the rows that chose each token
  };
  Greedy RunGreedy(shard::Qwen35Model& model, const std::vector<const GoldenCase*>& cases,
                   int32_t new_tokens = 32) {
    std::vector<GenerationRequest> reqs;
    for (const GoldenCase* c : cases) {
      reqs.push_back({.prompt = c->prompt, .max_new_tokens = new_tokens});
    }
    Greedy g;
    g.logits.resize(cases.size());
    GeneratorOptions opts;
    opts.on_logits = [&](size_t r, absl::Span<const float> row) {
      g.logits[r].insert(g.logits[r].end(), row.begin(), row.end());
    };
    auto results = tools::Generate(model, reqs, opts);
    EXPECT_OK(results);
    if (results.ok()) {
      for (auto& r : *results) g.tokens.push_back(r.tokens);
    }
    return g;
  }

  const GoldenCase* Case(const std::string& name) const {
    for (const auto& c : manifest_.cases) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  GoldenManifest manifest_;
  std::unique_ptr<ops::Backend> backend_;
};

TEST_P(GoldenTest, PromptLogitsMatchTransformers) {
  auto loaded = Load();
  ASSERT_NE(loaded, nullptr);
  for (const GoldenCase& c : manifest_.cases) {
    int64_t rows, cols;
    ASSERT_OK_AND_ASSIGN(std::vector<float> want,
                         testing::LoadLogits(c.prompt_logits_file, &rows, &cols));
    ASSERT_EQ(rows, static_cast<int64_t>(c.prompt.size()));
    std::vector<float> got = PromptLogits(*loaded->model, c.prompt, 256);
    ASSERT_EQ(got.size(), want.size()) << c.name;
    const double err = MaxRelError(got, want);
    EXPECT_LE(err, kVsTransformers) << GetParam() << " " << c.name;
    RecordProperty(c.name + "_prompt_rel_err", std::to_string(err));
  }
}

TEST_P(GoldenTest, GreedyContinuationMatchesTransformers) {
  auto loaded = Load();
  ASSERT_NE(loaded, nullptr);
  for (const GoldenCase& c : manifest_.cases) {
    Greedy g = RunGreedy(*loaded->model, {&c});
    ASSERT_EQ(g.tokens.size(), 1u);
    EXPECT_EQ(g.tokens[0], c.greedy_tokens) << GetParam() << " " << c.name;
    int64_t rows, cols;
    ASSERT_OK_AND_ASSIGN(std::vector<float> want,
                         testing::LoadLogits(c.decode_logits_file, &rows, &cols));
    ASSERT_EQ(g.logits[0].size(), want.size()) << c.name;
    const double err = MaxRelError(g.logits[0], want);
    EXPECT_LE(err, kVsTransformers) << GetParam() << " " << c.name;
    RecordProperty(c.name + "_decode_rel_err", std::to_string(err));
  }
}

TEST_P(GoldenTest, ChunkedDeltaRuleEqualsRecurrence) {
  const GoldenCase& c = *Case("p150");  // crosses two chunk boundaries
  ASSERT_GT(c.prompt.size(), 128u);
  ModelOptions chunked;
  chunked.delta_net_chunk_size = 64;
  ModelOptions recurrent;
  recurrent.delta_net_chunk_size = 0;
  auto a = Load(chunked);
  auto b = Load(recurrent);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<float> la = PromptLogits(*a->model, c.prompt, 256);
  std::vector<float> lb = PromptLogits(*b->model, c.prompt, 256);
  EXPECT_LE(MaxRelError(la, lb), kEnginePaths);
}

TEST_P(GoldenTest, PrefillChunkingDoesNotChangeLogits) {
  const GoldenCase& c = *Case("p150");
  auto loaded = Load();
  ASSERT_NE(loaded, nullptr);
  std::vector<float> whole = PromptLogits(*loaded->model, c.prompt, 256);
  for (int64_t chunk : {1, 7, 64, 65}) {
    std::vector<float> parts = PromptLogits(*loaded->model, c.prompt, chunk);
    EXPECT_LE(MaxRelError(parts, whole), kEnginePaths) << "chunk " << chunk;
  }
}

TEST_P(GoldenTest, DecodeAfterPrefillEqualsFullForward) {
  const GoldenCase& c = *Case("p37");
  auto loaded = Load();
  ASSERT_NE(loaded, nullptr);
  Greedy g = RunGreedy(*loaded->model, {&c});
  ASSERT_EQ(g.tokens.size(), 1u);
  std::vector<int32_t> all = c.prompt;
  all.insert(all.end(), g.tokens[0].begin(), g.tokens[0].end() - 1);
  std::vector<float> full = PromptLogits(*loaded->model, all, 256);
  const int64_t vocab = loaded->spec.text.vocab_size;
  // Rows P-1 .. P+30 of the full forward are the decode rows.
  std::vector<float> tail(full.begin() + (static_cast<int64_t>(c.prompt.size()) - 1) * vocab,
                          full.end());
  EXPECT_LE(MaxRelError(g.logits[0], tail), kEnginePaths);
}

TEST_P(GoldenTest, BatchEqualsSequencesOneByOne) {
  std::vector<const GoldenCase*> cases;
  if (!manifest_.batches.empty()) {
    for (const auto& name : manifest_.batches[0]) cases.push_back(Case(name));
  } else {
    cases = {Case("p1"), Case("p7"), Case("p37")};
  }
  auto loaded = Load();
  ASSERT_NE(loaded, nullptr);
  Greedy together = RunGreedy(*loaded->model, cases);
  ASSERT_EQ(together.tokens.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    Greedy alone = RunGreedy(*loaded->model, {cases[i]});
    EXPECT_EQ(together.tokens[i], cases[i]->greedy_tokens) << cases[i]->name;
    EXPECT_EQ(together.tokens[i], alone.tokens[0]) << cases[i]->name;
    EXPECT_LE(MaxRelError(together.logits[i], alone.logits[0]), kEnginePaths) << cases[i]->name;
  }
  EXPECT_EQ(loaded->model->memory().slots_in_use(), 0);
  EXPECT_EQ(loaded->model->memory().blocks_in_use(), 0);
}

// One step that carries a prefill chunk of one sequence and a decode token of another gives each
// the logits it gets alone.
TEST_P(GoldenTest, MixedPrefillAndDecodeInOneStep) {
  const GoldenCase& a = *Case("p37");
  const GoldenCase& b = *Case("p7");
  auto loaded = Load();
  ASSERT_NE(loaded, nullptr);
  shard::Qwen35Model& model = *loaded->model;
  const int64_t vocab = loaded->spec.text.vocab_size;
  std::vector<float> a_alone = PromptLogits(model, a.prompt, 256);
  std::vector<float> b_alone = PromptLogits(model, b.prompt, 256);

  ASSERT_OK_AND_ASSIGN(int32_t sa, model.memory().AcquireSlot());
  ASSERT_OK_AND_ASSIGN(int32_t sb, model.memory().AcquireSlot());
  // A: prefill all but its last token.
  StepPlan first;
  first.sequences.push_back({.slot = sa,
                             .start_index = 0,
                             .token_ids = {a.prompt.begin(), a.prompt.end() - 1},
                             .logits = LogitsMode::kNone});
  ASSERT_OK(model.Forward(first).status());
  // Then one step: A's last prompt token (a decode-shaped step) and B's whole prompt.
  StepPlan mixed;
  mixed.sequences.push_back(
      {.slot = sb, .start_index = 0, .token_ids = b.prompt, .logits = LogitsMode::kAll});
  mixed.sequences.push_back({.slot = sa,
                             .start_index = static_cast<int32_t>(a.prompt.size()) - 1,
                             .token_ids = {a.prompt.back()},
                             .logits = LogitsMode::kLast});
  ASSERT_OK_AND_ASSIGN(shard::StepLogits logits, model.Forward(mixed));
  const auto& rb = logits.sequence(0);
  const auto& ra = logits.sequence(1);
  ASSERT_EQ(rb.count, static_cast<int64_t>(b.prompt.size()));
  ASSERT_EQ(ra.count, 1);
  std::vector<float> b_got, a_got;
  for (int64_t r = 0; r < rb.count; ++r) {
    auto row = logits.Row(rb.begin + r);
    b_got.insert(b_got.end(), row.begin(), row.end());
  }
  auto arow = logits.Row(ra.begin);
  a_got.assign(arow.begin(), arow.end());
  std::vector<float> a_last(a_alone.end() - vocab, a_alone.end());
  EXPECT_LE(MaxRelError(b_got, b_alone), kEnginePaths);
  EXPECT_LE(MaxRelError(a_got, a_last), kEnginePaths);
  ASSERT_OK(model.memory().Release(sa));
  ASSERT_OK(model.memory().Release(sb));
}

TEST_P(GoldenTest, StepThatDoesNotContinueTheSequenceIsRejected) {
  auto loaded = Load();
  ASSERT_NE(loaded, nullptr);
  shard::Qwen35Model& model = *loaded->model;
  ASSERT_OK_AND_ASSIGN(int32_t slot, model.memory().AcquireSlot());
  StepPlan plan;
  plan.sequences.push_back({.slot = slot, .start_index = 3, .token_ids = {1, 2}});
  EXPECT_THAT(model.Forward(plan).status(),
              testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                ::testing::HasSubstr("start_index 3")));
  plan.sequences[0].start_index = 0;
  plan.sequences[0].token_ids = {1, static_cast<int32_t>(loaded->spec.text.vocab_size)};
  EXPECT_THAT(model.Forward(plan).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("outside the vocabulary")));
  ASSERT_OK(model.memory().Release(slot));
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenTest, ::testing::ValuesIn(testing::GoldenModelNames()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// A bf16 KV cache rounds keys and values to 8 mantissa bits; the logits move by far more than the
// f32 bound, so this states the bound measured on the bf16 model and checks greedy tokens survive.
TEST(GoldenBf16KvTest, Bf16KvCacheStaysCloseToTransformers) {
  ASSERT_OK_AND_ASSIGN(GoldenManifest m, testing::LoadGoldenManifest("tiny_r3_bf16"));
  ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({.cpu_threads = 2}));
  ModelOptions options;
  options.max_context = 512;
  options.max_tokens_per_step = 256;
  options.kv_dtype = DType::kBF16;
  ASSERT_OK_AND_ASSIGN(shard::LoadedModel loaded,
                       shard::LoadQwen35Model(m.model_dir, *backend, {}, options));
  for (const GoldenCase& c : m.cases) {
    std::vector<GenerationRequest> req = {{.prompt = c.prompt, .max_new_tokens = 1}};
    GeneratorOptions opts;
    opts.all_logits = true;
    std::vector<float> got;
    opts.on_logits = [&](size_t, absl::Span<const float> row) {
      got.insert(got.end(), row.begin(), row.end());
    };
    ASSERT_OK(tools::Generate(*loaded.model, req, opts).status());
    int64_t rows, cols;
    ASSERT_OK_AND_ASSIGN(std::vector<float> want,
                         testing::LoadLogits(c.prompt_logits_file, &rows, &cols));
    const double err = MaxRelError(got, want);
    EXPECT_LE(err, 5e-3) << c.name;  // measured: 0.9e-3 .. 2.1e-3
    RecordProperty(c.name + "_bf16kv_rel_err", std::to_string(err));
  }
}

}  // namespace
}  // namespace tpserve
