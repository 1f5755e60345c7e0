#include "tools/model/random_model.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/checkpoint.h"
#include "model/memory_estimate.h"
#include "model/model_tensors.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tests/unit/model/test_configs.h"

namespace tpserve::shard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

model::Qwen35Spec TinySpec() {
  absl::StatusOr<model::Qwen35Spec> spec = model::ParseQwen35Config(TinyConfig().dump());
  EXPECT_OK(spec);
  return *spec;
}

tools::RandomModelOptions TinyOptions(const std::string& dir) {
  tools::RandomModelOptions o;
  o.output_dir = dir;
  o.spec = TinySpec();
  o.seed = 7;
  return o;
}

TEST(RandomModelTest, TinySpecRoundTrips) {
  const std::string dir = ::tpserve::testing::MakeTempDir() + "/tiny";
  tools::RandomModelOptions options = TinyOptions(dir);
  ASSERT_OK(tools::WriteRandomQwen35Model(options));

  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec written, model::LoadQwen35Config(dir));
  model::Qwen35Spec want = TinySpec();
  want.random_weights = true;
  want.text.dtype = "bfloat16";
  EXPECT_TRUE(written == want) << ReadFile(dir + "/config.json");
  EXPECT_TRUE(written.random_weights);
  EXPECT_THAT(ReadFile(dir + "/NOTICE.txt"), HasSubstr("RANDOM weights"));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(dir));
  const std::vector<model::TensorDecl> expected =
      model::ListQwen35Tensors(want, /*include_vision=*/true);
  EXPECT_EQ(ckpt->num_tensors(), expected.size());
  for (const model::TensorDecl& t : expected) {
    ASSERT_OK_AND_ASSIGN(model::TensorInfo info, ckpt->Find(t.name));
    EXPECT_EQ(info.shape, t.shape) << t.name;
    EXPECT_EQ(info.dtype, DType::kBF16) << t.name;
  }
  EXPECT_FALSE(ckpt->Contains("lm_head.weight"));  // tied
  EXPECT_TRUE(ckpt->Contains("model.visual.merger.linear_fc2.weight"));
  EXPECT_EQ(ckpt->files()[0]->metadata().at("format"), "pt");
}

TEST(RandomModelTest, SameSeedSameBytesOtherSeedDiffers) {
  const std::string base = ::tpserve::testing::MakeTempDir();
  tools::RandomModelOptions a = TinyOptions(base + "/a");
  tools::RandomModelOptions b = TinyOptions(base + "/b");
  tools::RandomModelOptions c = TinyOptions(base + "/c");
  c.seed = 8;
  ASSERT_OK(tools::WriteRandomQwen35Model(a));
  ASSERT_OK(tools::WriteRandomQwen35Model(b));
  ASSERT_OK(tools::WriteRandomQwen35Model(c));
  const std::string wa = ReadFile(base + "/a/model.safetensors");
  EXPECT_GT(wa.size(), 100000u);
  EXPECT_EQ(wa, ReadFile(base + "/b/model.safetensors"));
  EXPECT_EQ(ReadFile(base + "/a/config.json"), ReadFile(base + "/b/config.json"));
  EXPECT_NE(wa, ReadFile(base + "/c/model.safetensors"));
}

TEST(RandomModelTest, ShardedWithIndexHoldsTheSameValues) {
  const std::string base = ::tpserve::testing::MakeTempDir();
  tools::RandomModelOptions single = TinyOptions(base + "/single");
  tools::RandomModelOptions sharded = TinyOptions(base + "/sharded");
  single.weight_dtype = DType::kF32;
  sharded.weight_dtype = DType::kF32;
  sharded.max_shard_bytes = 100 * 1024;
  sharded.spec->text.tie_word_embeddings = false;
  single.spec->text.tie_word_embeddings = false;
  ASSERT_OK(tools::WriteRandomQwen35Model(single));
  ASSERT_OK(tools::WriteRandomQwen35Model(sharded));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> a,
                       model::Checkpoint::Open(base + "/single"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> b,
                       model::Checkpoint::Open(base + "/sharded"));
  EXPECT_FALSE(a->sharded());
  EXPECT_TRUE(b->sharded());
  EXPECT_GT(b->files().size(), 2u);
  EXPECT_TRUE(b->Contains("lm_head.weight"));
  EXPECT_EQ(a->TensorNames(), b->TensorNames());
  for (const std::string& name : a->TensorNames()) {
    ASSERT_OK_AND_ASSIGN(model::TensorInfo x, a->Find(name));
    ASSERT_OK_AND_ASSIGN(model::TensorInfo y, b->Find(name));
    ASSERT_EQ(x.byte_size, y.byte_size);
    EXPECT_EQ(std::memcmp(x.data, y.data, x.byte_size), 0) << name;
  }
  const nlohmann::json index =
      nlohmann::json::parse(ReadFile(base + "/sharded/model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], b->total_tensor_bytes());
  EXPECT_EQ(index["weight_map"]["lm_head.weight"].get<std::string>().substr(0, 6), "model-");
}

TEST(RandomModelTest, ValuesHaveTheDocumentedRanges) {
  const std::string dir = ::tpserve::testing::MakeTempDir() + "/m";
  tools::RandomModelOptions options = TinyOptions(dir);
  options.weight_dtype = DType::kF32;
  ASSERT_OK(tools::WriteRandomQwen35Model(options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(dir));
  auto range = [&ckpt](const std::string& name) {
    absl::StatusOr<model::TensorInfo> info = ckpt->Find(name);
    EXPECT_OK(info);
    std::vector<float> v(static_cast<size_t>(info->num_elements()));
    std::memcpy(v.data(), info->data, info->byte_size);
    double sum = 0;
    float lo = v[0], hi = v[0];
    for (float x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
      sum += x;
    }
    return std::make_tuple(lo, hi, sum / static_cast<double>(v.size()));
  };
  const std::string p = "model.language_model.layers.0.";
  auto [qlo, qhi, qmean] = range(p + "linear_attn.in_proj_qkv.weight");  // fan_in 64
  const float a = std::sqrt(3.0f / 64.0f);
  EXPECT_GE(qlo, -a);
  EXPECT_LE(qhi, a);
  EXPECT_GT(qhi - qlo, 1.8f * a);  // spread, not constant
  EXPECT_NEAR(qmean, 0.0, 0.05);
  auto [alo, ahi, amean] = range(p + "linear_attn.A_log");
  EXPECT_GE(alo, 0.0f);
  EXPECT_LE(ahi, std::log(16.0f));
  auto [nlo, nhi, nmean] = range(p + "input_layernorm.weight");
  EXPECT_GE(nlo, -0.1f);
  EXPECT_LE(nhi, 0.1f);
  auto [glo, ghi, gmean] = range(p + "linear_attn.norm.weight");
  EXPECT_GE(glo, 0.9f);
  EXPECT_LE(ghi, 1.1f);
  auto [clo, chi, cmean] = range(p + "linear_attn.conv1d.weight");
  EXPECT_GE(clo, -0.5f);
  EXPECT_LE(chi, 0.5f);
  auto [elo, ehi, emean] = range("model.language_model.embed_tokens.weight");
  EXPECT_GE(elo, -1.0f);
  EXPECT_LE(ehi, 1.0f);
  EXPECT_GT(ehi - elo, 1.9f);
}

TEST(RandomModelTest, ZeroPointEightBPlanMatchesSpecNamesAndShapes) {
  tools::RandomModelOptions options;
  options.preset = "0.8b";
  ASSERT_OK_AND_ASSIGN(tools::RandomModelPlan plan, tools::PlanRandomQwen35Model(options));
  ASSERT_EQ(plan.files.size(), 1u);
  EXPECT_EQ(plan.files[0].file_name, "model.safetensors");
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const model::TensorDecl& t : plan.files[0].tensors) shapes[t.name] = t.shape;
  // Spec §2 with the 0.8B numbers of §1.4/§1.5.
  const std::string lm = "model.language_model.";
  EXPECT_THAT(shapes[lm + "embed_tokens.weight"], ElementsAre(248320, 1024));
  EXPECT_THAT(shapes[lm + "norm.weight"], ElementsAre(1024));
  EXPECT_EQ(shapes.count("lm_head.weight"), 0u);  // tied
  EXPECT_THAT(shapes[lm + "layers.0.input_layernorm.weight"], ElementsAre(1024));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.in_proj_qkv.weight"], ElementsAre(6144, 1024));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.in_proj_z.weight"], ElementsAre(2048, 1024));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.in_proj_b.weight"], ElementsAre(16, 1024));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.in_proj_a.weight"], ElementsAre(16, 1024));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.conv1d.weight"], ElementsAre(6144, 1, 4));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.dt_bias"], ElementsAre(16));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.A_log"], ElementsAre(16));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.norm.weight"], ElementsAre(128));
  EXPECT_THAT(shapes[lm + "layers.0.linear_attn.out_proj.weight"], ElementsAre(1024, 2048));
  EXPECT_THAT(shapes[lm + "layers.0.mlp.gate_proj.weight"], ElementsAre(3584, 1024));
  EXPECT_THAT(shapes[lm + "layers.0.mlp.up_proj.weight"], ElementsAre(3584, 1024));
  EXPECT_THAT(shapes[lm + "layers.0.mlp.down_proj.weight"], ElementsAre(1024, 3584));
  EXPECT_THAT(shapes[lm + "layers.3.self_attn.q_proj.weight"], ElementsAre(4096, 1024));
  EXPECT_THAT(shapes[lm + "layers.3.self_attn.k_proj.weight"], ElementsAre(512, 1024));
  EXPECT_THAT(shapes[lm + "layers.3.self_attn.v_proj.weight"], ElementsAre(512, 1024));
  EXPECT_THAT(shapes[lm + "layers.3.self_attn.o_proj.weight"], ElementsAre(1024, 2048));
  EXPECT_THAT(shapes[lm + "layers.3.self_attn.q_norm.weight"], ElementsAre(256));
  EXPECT_THAT(shapes[lm + "layers.3.self_attn.k_norm.weight"], ElementsAre(256));
  EXPECT_EQ(shapes.count(lm + "layers.3.linear_attn.A_log"), 0u);
  EXPECT_EQ(shapes.count(lm + "layers.2.self_attn.q_proj.weight"), 0u);
  EXPECT_THAT(shapes[lm + "layers.23.self_attn.q_proj.weight"], ElementsAre(4096, 1024));
  const std::string v = "model.visual.";
  EXPECT_THAT(shapes[v + "patch_embed.proj.weight"], ElementsAre(768, 3, 2, 16, 16));
  EXPECT_THAT(shapes[v + "patch_embed.proj.bias"], ElementsAre(768));
  EXPECT_THAT(shapes[v + "pos_embed.weight"], ElementsAre(2304, 768));
  EXPECT_THAT(shapes[v + "blocks.11.attn.qkv.weight"], ElementsAre(2304, 768));
  EXPECT_THAT(shapes[v + "blocks.11.attn.qkv.bias"], ElementsAre(2304));
  EXPECT_THAT(shapes[v + "blocks.11.attn.proj.weight"], ElementsAre(768, 768));
  EXPECT_THAT(shapes[v + "blocks.11.mlp.linear_fc1.weight"], ElementsAre(3072, 768));
  EXPECT_THAT(shapes[v + "blocks.11.mlp.linear_fc2.weight"], ElementsAre(768, 3072));
  EXPECT_THAT(shapes[v + "blocks.11.norm2.bias"], ElementsAre(768));
  EXPECT_EQ(shapes.count(v + "blocks.12.norm1.weight"), 0u);
  EXPECT_THAT(shapes[v + "merger.norm.weight"], ElementsAre(768));
  EXPECT_THAT(shapes[v + "merger.linear_fc1.weight"], ElementsAre(3072, 3072));
  EXPECT_THAT(shapes[v + "merger.linear_fc2.weight"], ElementsAre(1024, 3072));
  EXPECT_THAT(shapes[v + "merger.linear_fc2.bias"], ElementsAre(1024));
  // Counts: embedding + final norm, 18 linear layers x 14, 6 full layers x 11, vision
  // 3 + 12 blocks x 12 + 6.
  EXPECT_EQ(shapes.size(), 2u + 18 * 14 + 6 * 11 + 3 + 12 * 12 + 6);
  EXPECT_NEAR(static_cast<double>(plan.total_params()), 0.85e9, 0.01e9);
  EXPECT_EQ(plan.total_bytes(), static_cast<size_t>(plan.total_params()) * 2);
  EXPECT_EQ(plan.total_bytes(), model::EstimateMemory(plan.spec).weight_bytes.total());
  EXPECT_TRUE(plan.spec.random_weights);

  options.max_shard_bytes = size_t{500} << 20;
  options.include_vision = false;
  ASSERT_OK_AND_ASSIGN(tools::RandomModelPlan sharded, tools::PlanRandomQwen35Model(options));
  // ~1.43 GiB of text weights packed tensor by tensor, in order, into shards of <= 500 MiB.
  EXPECT_EQ(sharded.files.size(), 3u);
  EXPECT_EQ(sharded.files[0].file_name, "model-00001-of-00003.safetensors");
  EXPECT_EQ(sharded.files[0].tensors[0].name, lm + "embed_tokens.weight");
  EXPECT_FALSE(sharded.spec.vision.has_value());
  for (const tools::RandomModelFile& f : sharded.files)
    EXPECT_LE(f.data_bytes, options.max_shard_bytes);
}

TEST(RandomModelTest, RejectsBadOptions) {
  tools::RandomModelOptions options;
  options.output_dir = ::tpserve::testing::MakeTempDir();
  options.preset = "1t";
  EXPECT_THAT(tools::WriteRandomQwen35Model(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown model preset '1t'")));
  options.preset = "0.8b";
  options.weight_dtype = DType::kI32;
  EXPECT_THAT(tools::WriteRandomQwen35Model(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bf16, f16 or f32")));
  options = TinyOptions(::tpserve::testing::MakeTempDir());
  options.spec->text.num_kv_heads = 3;
  EXPECT_THAT(tools::WriteRandomQwen35Model(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("random model")));
  options.output_dir.clear();
  EXPECT_THAT(tools::WriteRandomQwen35Model(options),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

}  // namespace
}  // namespace tpserve::shard
