// config.json files the engine must refuse, each with a message naming the field.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_spec.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/unit/model/test_configs.h"

namespace tpserve::shard {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::tpserve::testing::StatusIs;
using Json = nlohmann::json;

absl::StatusOr<model::Qwen35Spec> Parse(const Json& j) {
  return model::ParseQwen35Config(j.dump());
}

// Parsing `j` fails with InvalidArgument whose message contains every one of `parts`.
void ExpectRejected(const Json& j, std::initializer_list<std::string> parts) {
  absl::StatusOr<model::Qwen35Spec> spec = Parse(j);
  ASSERT_FALSE(spec.ok()) << "accepted: " << j.dump();
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << spec.status();
  EXPECT_THAT(std::string(spec.status().message()), StartsWith("config.json: "));
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(part));
  }
}

TEST(ModelSpecErrorsTest, UnknownModelType) {
  Json j = TinyConfig();
  j["model_type"] = "llama";
  absl::StatusOr<model::Qwen35Spec> spec = Parse(j);
  EXPECT_THAT(spec, StatusIs(absl::StatusCode::kInvalidArgument,
                             "config.json: model_type 'llama' is not supported (expected qwen3_5 "
                             "or qwen3_5_text)"));
  j["model_type"] = "qwen3_5_moe";
  ExpectRejected(j, {"model_type 'qwen3_5_moe' is not supported"});
  j.erase("model_type");
  ExpectRejected(j, {"model_type is missing"});
}

TEST(ModelSpecErrorsTest, UnknownLayerType) {
  Json j = TinyConfig();
  j["text_config"]["layer_types"] = {"linear_attention", "linear_attention", "sliding_attention",
                                     "full_attention"};
  ExpectRejected(j, {"text_config.layer_types[2]", "sliding_attention",
                     "expected \"linear_attention\" or \"full_attention\""});
}

TEST(ModelSpecErrorsTest, MissingHiddenSize) {
  Json j = TinyConfig();
  j["text_config"].erase("hidden_size");
  ExpectRejected(j, {"text_config.hidden_size is missing"});
  j = TinyConfig();
  j["text_config"]["hidden_size"] = nullptr;
  ExpectRejected(j, {"text_config.hidden_size is missing"});
}

TEST(ModelSpecErrorsTest, MissingTextConfig) {
  Json j = TinyConfig();
  j.erase("text_config");
  ExpectRejected(j, {"text_config is missing"});
}

TEST(ModelSpecErrorsTest, LayerTypesLengthMismatch) {
  Json j = TinyConfig();
  j["text_config"]["layer_types"] = {"linear_attention", "linear_attention", "full_attention"};
  ExpectRejected(j, {"text_config.layer_types has 3 entries but num_hidden_layers is 4"});
}

TEST(ModelSpecErrorsTest, HeadsNotDivisible) {
  Json j = TinyConfig();
  j["text_config"]["num_key_value_heads"] = 3;
  ExpectRejected(j, {"text_config.num_attention_heads", "not a multiple of num_key_value_heads 3"});
  j = TinyConfig();
  j["text_config"]["linear_num_value_heads"] = 3;
  ExpectRejected(j, {"text_config.linear_num_value_heads 3 is not a multiple of "
                     "linear_num_key_heads 2"});
}

TEST(ModelSpecErrorsTest, BadJson) {
  EXPECT_THAT(
      model::ParseQwen35Config("{\"model_type\": \"qwen3_5\",,}"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("config.json: invalid JSON")));
  EXPECT_THAT(model::ParseQwen35Config(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid JSON")));
  EXPECT_THAT(model::ParseQwen35Config("[1, 2]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected a JSON object")));
  EXPECT_THAT(model::ParseQwen35Config(std::string(100000, '[')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid JSON")));
}

TEST(ModelSpecErrorsTest, WrongTypesAndRanges) {
  struct Case {
    const char* key;
    Json value;
    const char* expect;
  };
  const Case cases[] = {
      {"hidden_size", "64", "text_config.hidden_size must be an integer, got string \"64\""},
      {"hidden_size", 64.5, "text_config.hidden_size must be an integer"},
      {"hidden_size", 0, "text_config.hidden_size must be a positive integer, got 0"},
      {"hidden_size", -64, "text_config.hidden_size must be a positive integer"},
      {"hidden_size", int64_t{1} << 40, "above the supported maximum"},
      {"hidden_size", 18446744073709551615ull, "text_config.hidden_size is out of range"},
      {"num_hidden_layers", 100000, "text_config.num_hidden_layers is 100000, above"},
      {"rms_norm_eps", 0.0, "text_config.rms_norm_eps must be in (0, 1)"},
      {"rms_norm_eps", "small", "text_config.rms_norm_eps must be a number"},
      {"attn_output_gate", false, "text_config.attn_output_gate is false (expected true)"},
      {"attention_bias", true, "text_config.attention_bias is true"},
      {"hidden_act", "gelu", "text_config.hidden_act is 'gelu' (expected silu)"},
      {"layer_types", "linear_attention", "text_config.layer_types must be a list"},
      {"model_type", "qwen3_next", "text_config.model_type is 'qwen3_next'"},
      {"num_experts", 8, "text_config.num_experts is set: MoE"},
      {"tie_word_embeddings", "yes", "text_config.tie_word_embeddings must be true or false"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    Json j = TinyConfig();
    if (std::string(c.key) == "tie_word_embeddings") j.erase("tie_word_embeddings");
    j["text_config"][c.key] = c.value;
    ExpectRejected(j, {c.expect});
  }
}

TEST(ModelSpecErrorsTest, RopeProblems) {
  struct Case {
    const char* key;
    Json value;
    const char* expect;
  };
  const Case cases[] = {
      {"rope_type", "yarn", "text_config.rope_parameters.rope_type is 'yarn'"},
      {"mrope_section",
       {2, 2, 2},
       "text_config.rope_parameters.mrope_section sums to 6 but "
       "rotary_dim / 2 is 4"},
      {"mrope_section", {2, 2}, "mrope_section must be a list of 3 integers"},
      {"mrope_section", {2, -1, 3}, "mrope_section must be a list of 3 non-negative"},
      {"partial_rotary_factor", 0.0, "partial_rotary_factor must be in (0, 1]"},
      {"partial_rotary_factor", 0.3125, "gives rotary_dim 5"},
      {"mrope_interleaved", false, "mrope_interleaved is false"},
      {"rope_theta", "big", "rope_parameters.rope_theta must be a number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    Json j = TinyConfig();
    j["text_config"]["rope_parameters"][c.key] = c.value;
    ExpectRejected(j, {c.expect});
  }
  Json j = TinyConfig();
  j["text_config"]["rope_parameters"].erase("rope_theta");
  ExpectRejected(j, {"text_config.rope_parameters.rope_theta is missing"});
  j = TinyConfig();
  j["text_config"]["rope_parameters"] = "default";
  ExpectRejected(j, {"text_config.rope_parameters must be an object"});
}

TEST(ModelSpecErrorsTest, VisionProblems) {
  struct Case {
    const char* key;
    Json value;
    const char* expect;
  };
  const Case cases[] = {
      {"out_hidden_size", 32,
       "vision_config.out_hidden_size 32 must equal the text hidden_size 64"},
      {"num_heads", 5, "vision_config.hidden_size 32 is not a multiple of num_heads 5"},
      {"num_position_embeddings", 20,
       "vision_config.num_position_embeddings 20 is not a perfect "
       "square"},
      {"deepstack_visual_indexes", {8, 16}, "vision_config.deepstack_visual_indexes is [8,16]"},
      {"hidden_act", "quick_gelu", "vision_config.hidden_act is 'quick_gelu'"},
      {"model_type", "siglip", "vision_config.model_type is 'siglip'"},
      {"depth", 0, "vision_config.depth must be a positive integer"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    Json j = TinyConfig();
    j["vision_config"][c.key] = c.value;
    ExpectRejected(j, {c.expect});
  }
  Json j = TinyConfig();
  j["vision_config"].erase("hidden_size");
  ExpectRejected(j, {"vision_config.hidden_size is missing"});
  j = TinyConfig();
  j["vision_config"] = {1, 2};
  ExpectRejected(j, {"vision_config must be an object"});
}

TEST(ModelSpecErrorsTest, TopLevelTokenIds) {
  Json j = TinyConfig();
  j["image_token_id"] = -1;
  ExpectRejected(j, {"image_token_id is not a valid token id: -1"});
  j = TinyConfig();
  j["text_config"]["eos_token_id"] = {1, -5};
  ExpectRejected(j, {"text_config.eos_token_id contains an invalid token id -5"});
}

TEST(ModelSpecErrorsTest, SourceNameAppearsInMessages) {
  Json j = TinyConfig();
  j["text_config"].erase("intermediate_size");
  EXPECT_THAT(model::ParseQwen35Config(j.dump(), "/models/x/config.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith("/models/x/config.json: "),
                             HasSubstr("text_config.intermediate_size is missing"))));
}

}  // namespace
}  // namespace tpserve::shard
