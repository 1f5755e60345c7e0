#include "model/model_spec.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tests/unit/model/test_configs.h"

namespace tpserve::shard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;
using Json = nlohmann::json;

std::string TestdataPath(const std::string& file) {
  return ::tpserve::testing::SourceDir() + "/tests/unit/model/testdata/" + file;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<model::Qwen35Spec> LoadQwen35ConfigFile(const std::string& path) {
  return model::ParseQwen35Config(ReadFile(path), path);
}

absl::StatusOr<model::Qwen35Spec> Parse(const Json& j) {
  return model::ParseQwen35Config(j.dump());
}

// ---- every published size parses to the numbers of spec §1.4 / §1.5 ----

struct SizeCase {
  const char* file;
  const char* preset;
  int64_t hidden, layers, linear, full, intermediate, heads, kv_heads, v_heads;
  bool tied;
  int64_t vis_depth, vis_hidden, vis_heads, vis_head_dim, vis_intermediate;
  // §1.5
  int64_t value_dim, conv_dim, v_per_k, q_out, kv_out, o_in, merger;
};

class PublishedSizeTest : public ::testing::TestWithParam<SizeCase> {};

TEST_P(PublishedSizeTest, ParsesToSpecTables) {
  const SizeCase& c = GetParam();
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, LoadQwen35ConfigFile(TestdataPath(c.file)));
  const model::TextSpec& t = spec.text;
  EXPECT_EQ(spec.model_type, "qwen3_5");
  EXPECT_THAT(spec.architectures, ElementsAre("Qwen3_5ForConditionalGeneration"));
  EXPECT_EQ(t.vocab_size, 248320);
  EXPECT_EQ(t.hidden_size, c.hidden);
  EXPECT_EQ(t.num_hidden_layers, c.layers);
  EXPECT_EQ(t.num_layers_of(model::LayerKind::kLinearAttention), c.linear);
  EXPECT_EQ(t.num_layers_of(model::LayerKind::kFullAttention), c.full);
  for (int64_t i = 0; i < c.layers; ++i) {
    EXPECT_EQ(t.layer_types[static_cast<size_t>(i)] == model::LayerKind::kFullAttention,
              (i + 1) % 4 == 0)
        << "layer " << i;
  }
  EXPECT_EQ(t.intermediate_size, c.intermediate);
  EXPECT_EQ(t.num_heads, c.heads);
  EXPECT_EQ(t.num_kv_heads, c.kv_heads);
  EXPECT_EQ(t.head_dim, 256);
  EXPECT_EQ(t.num_k_heads, 16);
  EXPECT_EQ(t.num_v_heads, c.v_heads);
  EXPECT_EQ(t.head_k_dim, 128);
  EXPECT_EQ(t.head_v_dim, 128);
  EXPECT_EQ(t.conv_kernel_size, 4);
  EXPECT_EQ(t.tie_word_embeddings, c.tied);
  EXPECT_EQ(t.rope.rope_type, "default");
  EXPECT_EQ(t.rope.rope_theta, 1e7);
  EXPECT_EQ(t.rope.partial_rotary_factor, 0.25);
  EXPECT_THAT(t.rope.mrope_section, ElementsAre(11, 11, 10));
  EXPECT_TRUE(t.rope.mrope_interleaved);
  EXPECT_EQ(t.rope.rotary_dim, 64);
  EXPECT_EQ(t.rms_norm_eps, 1e-6);
  EXPECT_EQ(t.max_position_embeddings, 262144);
  EXPECT_THAT(t.eos_token_ids, ElementsAre(248044));
  EXPECT_EQ(t.dtype, "bfloat16");
  EXPECT_EQ(t.mamba_ssm_dtype, "float32");
  EXPECT_EQ(t.mtp_num_hidden_layers, 1);
  EXPECT_EQ(spec.image_token_id, 248056);
  EXPECT_EQ(spec.video_token_id, 248057);
  EXPECT_EQ(spec.vision_start_token_id, 248053);
  EXPECT_EQ(spec.vision_end_token_id, 248054);
  // Derived dims (§1.5).
  EXPECT_EQ(t.key_dim(), 2048);
  EXPECT_EQ(t.value_dim(), c.value_dim);
  EXPECT_EQ(t.conv_dim(), c.conv_dim);
  EXPECT_EQ(t.num_v_heads / t.num_k_heads, c.v_per_k);
  EXPECT_EQ(t.q_proj_out(), c.q_out);
  EXPECT_EQ(t.kv_proj_out(), c.kv_out);
  EXPECT_EQ(t.o_proj_in(), c.o_in);
  // Vision (§1.3, §1.4).
  ASSERT_TRUE(spec.vision.has_value());
  EXPECT_TRUE(spec.has_vision_tower());
  const model::VisionSpec& v = *spec.vision;
  EXPECT_EQ(v.depth, c.vis_depth);
  EXPECT_EQ(v.hidden_size, c.vis_hidden);
  EXPECT_EQ(v.num_heads, c.vis_heads);
  EXPECT_EQ(v.head_dim(), c.vis_head_dim);
  EXPECT_EQ(v.intermediate_size, c.vis_intermediate);
  EXPECT_EQ(v.out_hidden_size, c.hidden);
  EXPECT_EQ(v.merger_hidden(), c.merger);
  EXPECT_EQ(v.patch_size, 16);
  EXPECT_EQ(v.temporal_patch_size, 2);
  EXPECT_EQ(v.spatial_merge_size, 2);
  EXPECT_EQ(v.position_grid_side(), 48);
  EXPECT_EQ(v.patch_input_dim(), 1536);
  EXPECT_EQ(v.hidden_act, "gelu_pytorch_tanh");
  EXPECT_EQ(v.rope_theta, 10000.0);
}

TEST_P(PublishedSizeTest, FileEqualsPreset) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec from_file,
                       LoadQwen35ConfigFile(TestdataPath(GetParam().file)));
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec preset, model::Qwen35Preset(GetParam().preset));
  EXPECT_TRUE(from_file == preset) << model::Qwen35SpecToConfigJson(from_file) << "\nvs preset\n"
                                   << model::Qwen35SpecToConfigJson(preset);
}

TEST_P(PublishedSizeTest, RoundTripsThroughConfigJson) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, LoadQwen35ConfigFile(TestdataPath(GetParam().file)));
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec again,
                       model::ParseQwen35Config(model::Qwen35SpecToConfigJson(spec)));
  EXPECT_TRUE(again == spec);
  EXPECT_OK(model::ValidateQwen35Spec(spec));
}

// clang-format off
// file, preset, H, L, linear, full, I, Hq, Hkv, Hv, tied, vision depth/hidden/heads/head_dim/I,
// value_dim, conv_dim, Hv/Hk, q_proj out, k/v_proj out, o_proj in, merger width.
INSTANTIATE_TEST_SUITE_P(
    Sizes, PublishedSizeTest,
    ::testing::Values(
        SizeCase{"qwen3.5-0.8b.config.json", "0.8b", 1024, 24, 18, 6, 3584, 8, 2, 16, true,
                 12, 768, 12, 64, 3072, 2048, 6144, 1, 4096, 512, 2048, 3072},
        SizeCase{"qwen3.5-2b.config.json", "2b", 2048, 24, 18, 6, 6144, 8, 2, 16, true,
                 24, 1024, 16, 64, 4096, 2048, 6144, 1, 4096, 512, 2048, 4096},
        SizeCase{"qwen3.5-4b.config.json", "4b", 2560, 32, 24, 8, 9216, 16, 4, 32, true,
                 24, 1024, 16, 64, 4096, 4096, 8192, 2, 8192, 1024, 4096, 4096},
        SizeCase{"qwen3.5-9b.config.json", "9b", 4096, 32, 24, 8, 12288, 16, 4, 32, false,
                 27, 1152, 16, 72, 4304, 4096, 8192, 2, 8192, 1024, 4096, 4608},
        SizeCase{"qwen3.5-27b.config.json", "27b", 5120, 64, 48, 16, 17408, 24, 4, 48, false,
                 27, 1152, 16, 72, 4304, 6144, 10240, 3, 12288, 1024, 6144, 4608},
        SizeCase{"qwen3.6-27b.config.json", "3.6-27b", 5120, 64, 48, 16, 17408, 24, 4, 48, false,
                 27, 1152, 16, 72, 4304, 6144, 10240, 3, 12288, 1024, 6144, 4608}),
    [](const ::testing::TestParamInfo<SizeCase>& p) {
      std::string name = p.param.preset;
      for (char& ch : name) ch = ch == '.' || ch == '-' ? '_' : ch;
      return "p" + name;
    });
// clang-format on

TEST(ModelSpecTest, Qwen36KeepsInformationalFields) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec,
                       LoadQwen35ConfigFile(TestdataPath("qwen3.6-27b.config.json")));
  EXPECT_EQ(spec.text.output_gate_type, "swish");  // ignored by HF, recorded
  EXPECT_EQ(spec.text.bos_token_id, 248044);
  EXPECT_FALSE(spec.text.pad_token_id.has_value());
  EXPECT_FALSE(spec.language_model_only);
}

// ---- golden fixtures written by transformers (tools/golden) ----

TEST(ModelSpecTest, ParsesGoldenFixtureConfigs) {
  for (const char* name : {"tiny_r1_tied", "tiny_r2_untied", "tiny_r3_bf16"}) {
    const std::string dir = ::tpserve::testing::GoldenModelDir(name);
    if (!std::ifstream(dir + "/config.json")) continue;  // fixtures not generated here
    ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::LoadQwen35Config(dir));
    EXPECT_EQ(static_cast<int64_t>(spec.text.layer_types.size()), spec.text.num_hidden_layers)
        << name;
    EXPECT_OK(model::ValidateQwen35Spec(spec));
    if (spec.model_type == "qwen3_5_text") {
      EXPECT_EQ(model::TextWeightPrefix(spec), "model.");
      EXPECT_FALSE(spec.vision.has_value());
    } else {
      EXPECT_EQ(model::TextWeightPrefix(spec), "model.language_model.");
    }
  }
}

// ---- defaults and alternative spellings ----

TEST(ModelSpecTest, DerivesLayerTypesFromInterval) {
  Json j = TinyConfig();
  j["text_config"]["num_hidden_layers"] = 6;
  j["text_config"]["full_attention_interval"] = 3;
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, Parse(j));
  EXPECT_THAT(spec.text.layer_types,
              ElementsAre(model::LayerKind::kLinearAttention, model::LayerKind::kLinearAttention,
                          model::LayerKind::kFullAttention, model::LayerKind::kLinearAttention,
                          model::LayerKind::kLinearAttention, model::LayerKind::kFullAttention));
  j["text_config"].erase("full_attention_interval");  // HF default 4
  ASSERT_OK_AND_ASSIGN(spec, Parse(j));
  EXPECT_EQ(spec.text.num_layers_of(model::LayerKind::kFullAttention), 1);
  EXPECT_EQ(spec.text.layer_types[3], model::LayerKind::kFullAttention);
}

TEST(ModelSpecTest, HfDefaultsForFamilyConstants) {
  Json j = TinyConfig();
  Json& t = j["text_config"];
  for (const char* key : {"head_dim", "linear_num_key_heads", "linear_key_head_dim",
                          "linear_value_head_dim", "linear_conv_kernel_dim", "vocab_size"}) {
    t.erase(key);
  }
  t["num_attention_heads"] = 4;
  t["linear_num_value_heads"] = 32;
  t["rope_parameters"] = {{"rope_theta", 1e7}};  // partial 0.25, sections [11, 11, 10]
  j.erase("vision_config");
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, Parse(j));
  EXPECT_EQ(spec.text.head_dim, 256);
  EXPECT_EQ(spec.text.num_k_heads, 16);
  EXPECT_EQ(spec.text.head_k_dim, 128);
  EXPECT_EQ(spec.text.head_v_dim, 128);
  EXPECT_EQ(spec.text.conv_kernel_size, 4);
  EXPECT_EQ(spec.text.vocab_size, 248320);
  EXPECT_EQ(spec.text.rope.rotary_dim, 64);
  EXPECT_THAT(spec.text.rope.mrope_section, ElementsAre(11, 11, 10));
  EXPECT_FALSE(spec.vision.has_value());
  EXPECT_FALSE(spec.has_vision_tower());
}

TEST(ModelSpecTest, TieWordEmbeddingsTopLevelWins) {
  Json j = TinyConfig();
  j["tie_word_embeddings"] = false;
  j["text_config"]["tie_word_embeddings"] = true;
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, Parse(j));
  EXPECT_FALSE(spec.text.tie_word_embeddings);
  j.erase("tie_word_embeddings");
  ASSERT_OK_AND_ASSIGN(spec, Parse(j));
  EXPECT_TRUE(spec.text.tie_word_embeddings);
  j["text_config"].erase("tie_word_embeddings");
  ASSERT_OK_AND_ASSIGN(spec, Parse(j));
  EXPECT_FALSE(spec.text.tie_word_embeddings);  // HF default
}

TEST(ModelSpecTest, EosIdsIntListOrNull) {
  Json j = TinyConfig();
  j["text_config"]["eos_token_id"] = {248046, 248044};
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, Parse(j));
  EXPECT_THAT(spec.text.eos_token_ids, ElementsAre(248046, 248044));
  j["text_config"]["eos_token_id"] = nullptr;
  ASSERT_OK_AND_ASSIGN(spec, Parse(j));
  EXPECT_TRUE(spec.text.eos_token_ids.empty());
  j["text_config"]["eos_token_id"] = "x";
  EXPECT_THAT(Parse(j),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text_config.eos_token_id")));
}

TEST(ModelSpecTest, LegacyRopeScalingAndTopLevelFields) {
  Json j = TinyConfig();
  Json& t = j["text_config"];
  t.erase("rope_parameters");
  t["rope_scaling"] = {{"type", "mrope"}, {"mrope_section", {2, 1, 1}}};
  t["rope_theta"] = 5e6;
  t["partial_rotary_factor"] = 0.5;
  t["torch_dtype"] = "float32";
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, Parse(j));
  EXPECT_EQ(spec.text.rope.rope_type, "default");
  EXPECT_EQ(spec.text.rope.rope_theta, 5e6);
  EXPECT_EQ(spec.text.rope.partial_rotary_factor, 0.5);
  EXPECT_EQ(spec.text.rope.rotary_dim, 8);
  EXPECT_EQ(spec.text.dtype, "float32");
  EXPECT_EQ(model::ConfigDTypeToDType(spec.text.dtype), DType::kF32);
}

TEST(ModelSpecTest, TextOnlyModelType) {
  Json j = TinyConfig()["text_config"];
  j["model_type"] = "qwen3_5_text";
  j["architectures"] = {"Qwen3_5ForCausalLM"};
  j["tie_word_embeddings"] = false;
  j["eos_token_id"] = 7;
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, Parse(j));
  EXPECT_EQ(spec.model_type, "qwen3_5_text");
  EXPECT_FALSE(spec.vision.has_value());
  EXPECT_EQ(spec.text.hidden_size, 64);
  EXPECT_THAT(spec.text.eos_token_ids, ElementsAre(7));
  EXPECT_EQ(model::TextWeightPrefix(spec), "model.");
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec again,
                       model::ParseQwen35Config(model::Qwen35SpecToConfigJson(spec)));
  EXPECT_TRUE(again == spec);
}

TEST(ModelSpecTest, RecordsQuantizationAndRandomFlag) {
  Json j = TinyConfig();
  j["quantization_config"] = {{"quant_method", "fp8"}, {"fmt", "e4m3"}};
  j["tpserve_random_weights"] = true;
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, Parse(j));
  EXPECT_EQ(spec.quantization, "fp8");
  EXPECT_TRUE(spec.random_weights);
}

TEST(ModelSpecTest, PresetsAreValidAndNamed) {
  for (const std::string& name : model::Qwen35PresetNames()) {
    ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset(name));
    EXPECT_OK(model::ValidateQwen35Spec(spec)) << name;
  }
  EXPECT_THAT(model::Qwen35Preset("70b"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   HasSubstr("unknown model preset '70b'")));
}

TEST(ModelSpecTest, ValidateCatchesInconsistentDerivedFields) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("0.8b"));
  spec.text.rope.rotary_dim = 32;
  EXPECT_THAT(model::ValidateQwen35Spec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rotary_dim")));
  ASSERT_OK_AND_ASSIGN(spec, model::Qwen35Preset("0.8b"));
  spec.text.num_kv_heads = 3;
  EXPECT_THAT(model::ValidateQwen35Spec(spec),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_key_value_heads 3")));
}

TEST(ModelSpecTest, LoadMissingDirectoryNamesPath) {
  EXPECT_THAT(
      model::LoadQwen35Config("/nonexistent/tpserve-model"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/tpserve-model/config.json")));
}

}  // namespace
}  // namespace tpserve::shard
