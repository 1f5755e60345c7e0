// Shared inputs for the shard unit tests.
#ifndef TPSERVE_TESTS_UNIT_MODEL_TEST_CONFIGS_H_
#define TPSERVE_TESTS_UNIT_MODEL_TEST_CONFIGS_H_

#include "nlohmann/json.hpp"

namespace tpserve::shard {

// A small, valid qwen3_5 config to mutate in failure tests.
inline nlohmann::json TinyConfig() {
  return nlohmann::json::parse(R"({
    "model_type": "qwen3_5",
    "architectures": ["Qwen3_5ForConditionalGeneration"],
    "tie_word_embeddings": true,
    "text_config": {
      "model_type": "qwen3_5_text", "vocab_size": 512, "hidden_size": 64,
      "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
      "num_key_value_heads": 2, "head_dim": 16, "linear_num_key_heads": 2,
      "linear_num_value_heads": 4, "linear_key_head_dim": 16, "linear_value_head_dim": 16,
      "linear_conv_kernel_dim": 4,
      "rope_parameters": {"rope_type": "default", "rope_theta": 10000000,
                          "partial_rotary_factor": 0.5, "mrope_section": [2, 1, 1],
                          "mrope_interleaved": true}
    },
    "vision_config": {"model_type": "qwen3_5", "depth": 2, "hidden_size": 32, "num_heads": 4,
                      "intermediate_size": 64, "out_hidden_size": 64,
                      "num_position_embeddings": 16}
  })");
}

}  // namespace tpserve::shard

#endif  // TPSERVE_TESTS_UNIT_MODEL_TEST_CONFIGS_H_
