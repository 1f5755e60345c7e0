// The vision tower across a tensor-parallel group (ranks as threads, shared-memory collectives):
// tensor parallel at T = 1, 2, 4 and data parallel at T = 2 and 4 give the same image embeddings
// (within f32 rounding of the all-reduce order), transformers' greedy tokens and logits within
// the engine's tolerance of T = 1.
#include <memory>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/base/store.h"
#include "ops/comm/shm/shm_communicator.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "shard/shard_plan.h"
#include "tests/testing/status_matchers.h"
#include "tests/vision/vision_golden.h"
#include "tools/model/generator.h"
#include "vision/image_encoder.h"

namespace tpserve {
namespace {

struct RankOutput {
  std::vector<float> embeddings;  // every case's images, concatenated
  std::vector<std::vector<int32_t>> tokens;
  std::vector<float> logits;  // every computed row of every request
  vision::TowerParallelism mode = vision::TowerParallelism::kTensorParallel;
};

std::vector<RankOutput> RunGroup(const testing::VisionManifest& m, int tp,
                                 shard::VisionParallelism parallelism) {
  comm::InProcessStore store;
  std::vector<RankOutput> out(static_cast<size_t>(tp));
  std::vector<std::thread> ranks;
  for (int r = 0; r < tp; ++r) {
    ranks.emplace_back([&, r] {
      ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({.cpu_threads = 1}));
      ASSERT_OK_AND_ASSIGN(auto comm, comm::CreateShmCommunicator(store, r, tp, {}));
      shard::ModelOptions o;
      o.max_slots = 8;
      o.max_context = 512;
      o.max_tokens_per_step = 512;
      o.kv_dtype = DType::kF32;
      o.vision_parallelism = parallelism;
      ASSERT_OK_AND_ASSIGN(
          shard::LoadedModel loaded,
          shard::LoadQwen35Model(m.model_dir, *backend, {.tp_size = tp, .tp_rank = r}, o));
      ASSERT_OK(loaded.model->set_communicator(comm.get()));
      RankOutput& mine = out[static_cast<size_t>(r)];
      vision::ImageEncoder* enc = loaded.model->image_encoder();
      ASSERT_NE(enc, nullptr);
      mine.mode = enc->parallelism();
      std::vector<tools::GenerationRequest> reqs;
      for (const testing::VisionCase& c : m.cases) {
        std::vector<std::string> bytes;
        for (const std::string& f : c.images)
          bytes.push_back(*testing::ReadFileBytes(m.ImagePath(f)));
        std::vector<std::string_view> views(bytes.begin(), bytes.end());
        ASSERT_OK_AND_ASSIGN(vision::TowerOutput e, enc->Encode(views));
        const float* p = static_cast<const float*>(e.embeddings.data);
        mine.embeddings.insert(mine.embeddings.end(), p, p + e.embeddings.num_elements());
        tools::GenerationRequest req;
        req.prompt = c.prompt;
        req.max_new_tokens = static_cast<int32_t>(c.greedy_tokens.size());
        req.images = bytes;
        reqs.push_back(std::move(req));
      }
      tools::GeneratorOptions gen;
      gen.prefill_chunk = 100;  // chunks cut through images
      gen.on_logits = [&](size_t, absl::Span<const float> row) {
        mine.logits.insert(mine.logits.end(), row.begin(), row.end());
      };
      ASSERT_OK_AND_ASSIGN(auto results, tools::Generate(*loaded.model, reqs, gen));
      for (auto& res : results) mine.tokens.push_back(res.tokens);
    });
  }
  for (auto& t : ranks) t.join();
  return out;
}

double MaxRel(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0, scale = 0;
  for (float w : want) scale = std::max<double>(scale, std::abs(w));
  if (got.size() != want.size()) return 1e9;
  for (size_t i = 0; i < got.size(); ++i)
    worst = std::max<double>(worst, std::abs(got[i] - want[i]));
  return worst / scale;
}

TEST(VisionTpTest, TensorAndDataParallelTowersAgreeAtEveryTpSize) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  std::vector<std::vector<int32_t>> golden;
  for (const auto& c : m.cases) golden.push_back(c.greedy_tokens);
  const std::vector<RankOutput> t1 = RunGroup(m, 1, shard::VisionParallelism::kAuto);
  ASSERT_EQ(t1[0].tokens, golden);
  struct Run {
    int tp;
    shard::VisionParallelism p;
    vision::TowerParallelism want;
  };
  for (const Run& run :
       {Run{2, shard::VisionParallelism::kTensorParallel,
            vision::TowerParallelism::kTensorParallel},
        Run{4, shard::VisionParallelism::kAuto, vision::TowerParallelism::kTensorParallel},
        Run{2, shard::VisionParallelism::kDataParallel, vision::TowerParallelism::kDataParallel},
        Run{4, shard::VisionParallelism::kDataParallel, vision::TowerParallelism::kDataParallel}}) {
    const std::vector<RankOutput> out = RunGroup(m, run.tp, run.p);
    for (int r = 0; r < run.tp; ++r) {
      const RankOutput& o = out[static_cast<size_t>(r)];
      SCOPED_TRACE(::testing::Message()
                   << "tp " << run.tp << " rank " << r << " mode " << static_cast<int>(run.want));
      EXPECT_EQ(o.mode, run.want);
      EXPECT_EQ(o.tokens, golden);
      // Tensor parallel sums partial products in another order, and data parallel runs an image
      // in a smaller batch (another MatMul kernel may take it): f32 rounding only.
      EXPECT_LT(MaxRel(o.embeddings, t1[0].embeddings), 2e-6);
      EXPECT_LT(MaxRel(o.logits, t1[0].logits), 1e-4);
      // Every rank of a group ends with identical embeddings.
      EXPECT_EQ(o.embeddings, out[0].embeddings);
    }
  }
}

TEST(VisionTpTest, ShardPlanSplitsTheTowerLikeTheLanguageModel) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("27b"));
  ASSERT_OK_AND_ASSIGN(shard::ShardPlan plan, shard::ShardPlan::Make(spec, 2));
  // qkv: this rank's heads in each of q, k, v (8 of 16 heads of 72).
  ASSERT_OK_AND_ASSIGN(shard::ShardSpec qkv, plan.SpecFor("model.visual.blocks.3.attn.qkv.weight"));
  ASSERT_OK_AND_ASSIGN(auto r, shard::RankRanges(qkv, 3 * 1152, 2, 1));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].begin, 576);
  EXPECT_EQ(r[1].begin, 1152 + 576);
  EXPECT_EQ(r[2].end, 3 * 1152);
  ASSERT_OK_AND_ASSIGN(shard::ShardSpec proj,
                       plan.SpecFor("model.visual.blocks.3.attn.proj.weight"));
  EXPECT_EQ(proj.kind, shard::SplitKind::kRow);
  ASSERT_OK_AND_ASSIGN(shard::ShardSpec fc1, plan.SpecFor("model.visual.merger.linear_fc1.weight"));
  EXPECT_EQ(fc1.kind, shard::SplitKind::kColumn);
  ASSERT_OK_AND_ASSIGN(shard::ShardSpec fc2, plan.SpecFor("model.visual.merger.linear_fc2.weight"));
  EXPECT_EQ(fc2.kind, shard::SplitKind::kRow);
  for (const char* replicated :
       {"model.visual.pos_embed.weight", "model.visual.patch_embed.proj.weight",
        "model.visual.blocks.0.norm1.bias", "model.visual.merger.norm.weight",
        "model.visual.blocks.0.attn.proj.bias"}) {
    ASSERT_OK_AND_ASSIGN(shard::ShardSpec s, plan.SpecFor(replicated));
    EXPECT_EQ(s.kind, shard::SplitKind::kReplicated) << replicated;
  }
  EXPECT_THAT(plan.SpecFor("model.visual.deepstack_merger_list.0.norm.weight"),
              testing::StatusIs(absl::StatusCode::kNotFound));
  EXPECT_OK(shard::VisionTensorParallelStatus(*spec.vision, 16));
  EXPECT_THAT(shard::VisionTensorParallelStatus(*spec.vision, 3),
              testing::StatusIs(
                  absl::StatusCode::kInvalidArgument,
                  ::testing::HasSubstr("tp_size 3 does not divide vision_config.num_heads 16")));
}

TEST(VisionTpTest, TensorParallelRefusesATpSizeThatCannotSplitTheTower) {
  ASSERT_OK_AND_ASSIGN(testing::VisionManifest m, testing::LoadVisionManifest());
  ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({.cpu_threads = 1}));
  shard::ModelOptions o;
  o.vision_parallelism = shard::VisionParallelism::kTensorParallel;
  // 8 ranks cannot split 4 heads (the text model cannot either; the vision error comes first).
  auto loaded = shard::LoadQwen35Model(m.model_dir, *backend, {.tp_size = 8, .tp_rank = 0}, o);
  EXPECT_THAT(loaded, testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                        ::testing::HasSubstr("vision_config.num_heads 4")));
}

}  // namespace
}  // namespace tpserve
