// How much memory a Qwen3.5 replica needs: weights by part, the full-attention KV cache per token
// and the Gated DeltaNet state per sequence (spec §1.5). Pure arithmetic on a validated spec.
#ifndef TPSERVE_MODEL_MEMORY_ESTIMATE_H_
#define TPSERVE_MODEL_MEMORY_ESTIMATE_H_

#include <cstddef>
#include <cstdint>

#include "model/model_spec.h"
#include "ops/base/dtype.h"

namespace tpserve::model {

// Weight bytes per part of the model, at the estimate's weight dtype.
struct WeightBytes {
  size_t embedding = 0;
  size_t lm_head = 0;  // 0 when tied to the embedding
  size_t linear_attention = 0;
  size_t full_attention = 0;
  size_t mlp = 0;
  size_t norms = 0;   // per-layer RMSNorms and the final norm
  size_t vision = 0;  // 0 without a vision tower

  size_t text() const {
    return embedding + lm_head + linear_attention + full_attention + mlp + norms;
  }
  size_t total() const { return text() + vision; }
};

struct MemoryEstimate {
  DType weight_dtype = DType::kBF16;
  DType kv_dtype = DType::kBF16;
  int64_t text_params = 0;
  int64_t vision_params = 0;
  WeightBytes weight_bytes;
  // 2 (K and V) * num_kv_heads * head_dim * full-attention layers * sizeof(kv_dtype).
  size_t kv_bytes_per_token = 0;
  // fp32 num_v_heads * head_k_dim * head_v_dim per linear-attention layer.
  size_t recurrent_state_bytes_per_sequence = 0;
  // fp32 (conv_kernel_size - 1) * conv_dim per linear-attention layer.
  size_t conv_state_bytes_per_sequence = 0;

  int64_t total_params() const { return text_params + vision_params; }
  size_t state_bytes_per_sequence() const {
    return recurrent_state_bytes_per_sequence + conv_state_bytes_per_sequence;
  }
  // KV for num_sequences * tokens_per_sequence tokens plus the DeltaNet state of each sequence.
  size_t CacheBytes(int64_t num_sequences, int64_t tokens_per_sequence) const;
  // Weights plus CacheBytes (activations and workspace not included).
  size_t ReplicaBytes(int64_t num_sequences, int64_t tokens_per_sequence) const {
    return weight_bytes.total() + CacheBytes(num_sequences, tokens_per_sequence);
  }
};

// `spec` must be valid (as returned by ParseQwen35Config). Vision weights count when
// spec.has_vision_tower().
MemoryEstimate EstimateMemory(const Qwen35Spec& spec, DType weight_dtype = DType::kBF16,
                              DType kv_dtype = DType::kBF16);

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_MEMORY_ESTIMATE_H_
