#include "model/memory_estimate.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/kv_dtype.h"
#include "model/model_spec.h"
#include "model/model_tensors.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/unit/model/test_configs.h"
#include "tools/model/inspect.h"

namespace tpserve::shard {
namespace {

using ::testing::HasSubstr;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

// Parameter count written out from spec §2, independently of ListQwen35Tensors.
int64_t ExpectedTextParams(const model::TextSpec& t) {
  const int64_t h = t.hidden_size;
  const int64_t linear = t.num_layers_of(model::LayerKind::kLinearAttention);
  const int64_t full = t.num_layers_of(model::LayerKind::kFullAttention);
  int64_t n = t.vocab_size * h + h;  // embedding + final norm
  if (!t.tie_word_embeddings) n += t.vocab_size * h;
  n += t.num_hidden_layers * (2 * h + 3 * h * t.intermediate_size);
  n += linear *
       (t.conv_dim() * h + t.value_dim() * h + 2 * t.num_v_heads * h +
        t.conv_dim() * t.conv_kernel_size + 2 * t.num_v_heads + t.head_v_dim + h * t.value_dim());
  n += full * (t.q_proj_out() * h + 2 * t.kv_proj_out() * h + h * t.o_proj_in() + 2 * t.head_dim);
  return n;
}

int64_t ExpectedVisionParams(const model::VisionSpec& v) {
  const int64_t hv = v.hidden_size;
  const int64_t iv = v.intermediate_size;
  const int64_t mh = 4 * hv;
  int64_t n = hv * 3 * 2 * 16 * 16 + hv + v.num_position_embeddings * hv;
  n += v.depth * (4 * hv + 3 * hv * hv + 3 * hv + hv * hv + hv + iv * hv + iv + hv * iv + hv);
  n += 2 * hv + mh * mh + mh + v.out_hidden_size * mh + v.out_hidden_size;
  return n;
}

struct MemoryCase {
  const char* preset;
  size_t kv_per_token;      // bf16, spec §1.5
  size_t gdn_per_sequence;  // fp32, spec §1.5
  int64_t linear_layers;
  int64_t conv_dim;
};

class MemoryEstimateTest : public ::testing::TestWithParam<MemoryCase> {};

TEST_P(MemoryEstimateTest, MatchesSpecTable) {
  const MemoryCase& c = GetParam();
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset(c.preset));
  const model::MemoryEstimate m = model::EstimateMemory(spec, DType::kBF16, DType::kBF16);
  EXPECT_EQ(m.kv_bytes_per_token, c.kv_per_token);
  EXPECT_EQ(m.recurrent_state_bytes_per_sequence, c.gdn_per_sequence);
  EXPECT_EQ(m.conv_state_bytes_per_sequence,
            static_cast<size_t>(c.linear_layers * 3 * c.conv_dim) * sizeof(float));
  EXPECT_EQ(m.text_params, ExpectedTextParams(spec.text));
  EXPECT_EQ(m.vision_params, ExpectedVisionParams(*spec.vision));
  EXPECT_EQ(m.weight_bytes.total(), static_cast<size_t>(m.total_params()) * 2);
  EXPECT_EQ(m.weight_bytes.lm_head == 0, spec.text.tie_word_embeddings);
  // f32 KV doubles the cache, f32 weights double the weights; the state is f32 either way.
  const model::MemoryEstimate f32 = model::EstimateMemory(spec, DType::kF32, DType::kF32);
  EXPECT_EQ(f32.kv_bytes_per_token, 2 * c.kv_per_token);
  EXPECT_EQ(f32.weight_bytes.total(), 2 * m.weight_bytes.total());
  EXPECT_EQ(f32.recurrent_state_bytes_per_sequence, c.gdn_per_sequence);
  EXPECT_EQ(m.ReplicaBytes(8, 32768), m.weight_bytes.total() + 8 * (32768 * m.kv_bytes_per_token +
                                                                    m.state_bytes_per_sequence()));
}

INSTANTIATE_TEST_SUITE_P(Sizes, MemoryEstimateTest,
                         ::testing::Values(MemoryCase{"0.8b", 12 * kKiB, 18 * kMiB, 18, 6144},
                                           MemoryCase{"2b", 12 * kKiB, 18 * kMiB, 18, 6144},
                                           MemoryCase{"4b", 32 * kKiB, 48 * kMiB, 24, 8192},
                                           MemoryCase{"9b", 32 * kKiB, 48 * kMiB, 24, 8192},
                                           MemoryCase{"27b", 64 * kKiB, 144 * kMiB, 48, 10240}));

TEST(MemoryEstimateTest, ZeroPointEightBIsAboutEightHundredFiftyMillionParams) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("0.8b"));
  const model::MemoryEstimate m = model::EstimateMemory(spec);
  EXPECT_NEAR(static_cast<double>(m.total_params()), 0.85e9, 0.01e9);
  EXPECT_EQ(m.weight_bytes.embedding, size_t{248320} * 1024 * 2);
  EXPECT_EQ(m.weight_bytes.lm_head, 0u);
}

TEST(MemoryEstimateTest, LanguageModelOnlySkipsVision) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("0.8b"));
  spec.language_model_only = true;
  const model::MemoryEstimate m = model::EstimateMemory(spec);
  EXPECT_EQ(m.vision_params, 0);
  EXPECT_EQ(m.weight_bytes.vision, 0u);
}

TEST(InspectTest, FormatsBytes) {
  EXPECT_EQ(tools::FormatBytes(512), "512 B");
  EXPECT_EQ(tools::FormatBytes(12 * kKiB), "12 KiB");
  EXPECT_EQ(tools::FormatBytes(18 * kMiB), "18 MiB");
  EXPECT_EQ(tools::FormatBytes(1536 * kKiB), "1.50 MiB");
  EXPECT_EQ(tools::FormatBytes(size_t{1707} * kMiB), "1.67 GiB");
  EXPECT_EQ(tools::FormatBytes(144 * kMiB), "144 MiB");
  EXPECT_EQ(tools::FormatBytes(150 * kMiB + 1), "150 MiB");
}

TEST(InspectTest, ReportForZeroPointEightB) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("0.8b"));
  const model::MemoryEstimate m = model::EstimateMemory(spec);
  tools::InspectOptions options;
  options.model_dir = "/models/Qwen3.5-0.8B";
  const std::string report = tools::FormatInspectReport(spec, m, options);
  EXPECT_THAT(report, HasSubstr("model: /models/Qwen3.5-0.8B"));
  EXPECT_THAT(report, HasSubstr("24 layers: 18 linear_attention + 6 full_attention (every 4th)"));
  EXPECT_THAT(report, HasSubstr("tied (lm_head = embed_tokens)"));
  EXPECT_THAT(report, HasSubstr("theta 10000000, rotary_dim 64 of 256"));
  EXPECT_THAT(report, HasSubstr("12 blocks, hidden 768, 12 heads (head_dim 64)"));
  EXPECT_THAT(report,
              HasSubstr("12 KiB per token (6 full_attention layers), 12 MiB per 1k tokens"));
  EXPECT_THAT(report, HasSubstr("18 MiB recurrent + 1.27 MiB conv per sequence"));
  EXPECT_THAT(report, HasSubstr("replica for 8 sequences x 32k tokens: "));
  EXPECT_THAT(report, HasSubstr("kv 3 GiB"));
  EXPECT_THAT(report, ::testing::Not(HasSubstr("RANDOM")));
  spec.random_weights = true;
  EXPECT_THAT(tools::FormatInspectReport(spec, m, options), HasSubstr("RANDOM WEIGHTS"));
}

TEST(InspectTest, ReportFor27B) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("27b"));
  const std::string report = tools::FormatInspectReport(spec, model::EstimateMemory(spec));
  EXPECT_THAT(report, HasSubstr("64 layers: 48 linear_attention + 16 full_attention (every 4th)"));
  EXPECT_THAT(report, HasSubstr("64 KiB per token"));
  EXPECT_THAT(report, HasSubstr("144 MiB recurrent"));
  EXPECT_THAT(report, HasSubstr("untied (lm_head)"));
}

TEST(InspectTest, JsonVariantCarriesNumbers) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("0.8b"));
  const model::MemoryEstimate m = model::EstimateMemory(spec);
  const nlohmann::json j = nlohmann::json::parse(tools::FormatInspectJson(spec, m, {}));
  EXPECT_EQ(j["memory"]["kv_bytes_per_token"], 12 * kKiB);
  EXPECT_EQ(j["memory"]["recurrent_state_bytes_per_sequence"], 18 * kMiB);
  EXPECT_EQ(j["memory"]["weight_bytes"]["total"], m.weight_bytes.total());
  EXPECT_EQ(j["memory"]["replica"]["bytes"], m.ReplicaBytes(8, 32768));
  EXPECT_EQ(j["text"]["conv_dim"], 6144);
  EXPECT_EQ(j["text"]["num_full_attention_layers"], 6);
  EXPECT_EQ(j["vision"]["head_dim"], 64);
}

TEST(InspectTest, IrregularAndUniformLayerPatterns) {
  model::TextSpec t;
  t.num_hidden_layers = 5;
  t.layer_types = {model::LayerKind::kLinearAttention, model::LayerKind::kFullAttention,
                   model::LayerKind::kLinearAttention, model::LayerKind::kLinearAttention,
                   model::LayerKind::kFullAttention};
  EXPECT_EQ(tools::DescribeLayerPattern(t),
            "5 layers: 3 linear_attention + 2 full_attention (full_attention at 1, 4)");
  t.layer_types = {model::LayerKind::kLinearAttention, model::LayerKind::kFullAttention,
                   model::LayerKind::kLinearAttention, model::LayerKind::kFullAttention,
                   model::LayerKind::kLinearAttention};
  EXPECT_EQ(tools::DescribeLayerPattern(t),
            "5 layers: 3 linear_attention + 2 full_attention (every 2nd)");
  t.layer_types.assign(5, model::LayerKind::kLinearAttention);
  EXPECT_EQ(tools::DescribeLayerPattern(t), "5 layers: 5 linear_attention");
}

TEST(InspectTest, TinyTextOnlyModel) {
  nlohmann::json j = TinyConfig()["text_config"];
  j["model_type"] = "qwen3_5_text";
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::ParseQwen35Config(j.dump()));
  const model::MemoryEstimate m = model::EstimateMemory(spec, DType::kF32, DType::kF32);
  EXPECT_EQ(m.vision_params, 0);
  // 1 full layer: 2 * 2 kv heads * 16 * 4 bytes.
  EXPECT_EQ(m.kv_bytes_per_token, 256u);
  // 3 linear layers: 4 v heads * 16 * 16 * 4 bytes each.
  EXPECT_EQ(m.recurrent_state_bytes_per_sequence, 3u * 4 * 16 * 16 * 4);
  EXPECT_THAT(tools::FormatInspectReport(spec, m), HasSubstr("vision          none"));
}

// The one rule the ranks, generate, inspect and the coordinator's placement share.
TEST(KvDTypeTest, F32WeightsKeepAnF32CacheEverythingElseIsBf16UnlessAsked) {
  EXPECT_EQ(model::ResolveKvDType(std::nullopt, DType::kF32), DType::kF32);
  EXPECT_EQ(model::ResolveKvDType(std::nullopt, DType::kBF16), DType::kBF16);
  EXPECT_EQ(model::ResolveKvDType(std::nullopt, DType::kF16), DType::kBF16);
  EXPECT_EQ(model::ResolveKvDType(DType::kBF16, DType::kF32), DType::kBF16);
  EXPECT_EQ(model::ResolveKvDType(DType::kF32, DType::kBF16), DType::kF32);
}

}  // namespace
}  // namespace tpserve::shard
