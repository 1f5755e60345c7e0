#include "model/memory_estimate.h"

#include "model/model_tensors.h"

namespace tpserve::model {

size_t MemoryEstimate::CacheBytes(int64_t num_sequences, int64_t tokens_per_sequence) const {
  const auto seqs = static_cast<size_t>(num_sequences < 0 ? 0 : num_sequences);
  const auto tokens = static_cast<size_t>(tokens_per_sequence < 0 ? 0 : tokens_per_sequence);
  return seqs * (tokens * kv_bytes_per_token + state_bytes_per_sequence());
}

MemoryEstimate EstimateMemory(const Qwen35Spec& spec, DType weight_dtype, DType kv_dtype) {
  MemoryEstimate m;
  m.weight_dtype = weight_dtype;
  m.kv_dtype = kv_dtype;
  const size_t wsize = DTypeSize(weight_dtype);
  for (const TensorDecl& t : ListQwen35Tensors(spec, spec.has_vision_tower())) {
    const int64_t n = t.num_elements();
    const size_t bytes = static_cast<size_t>(n) * wsize;
    WeightBytes& w = m.weight_bytes;
    switch (t.part) {
      case TensorPart::kEmbedding:
        w.embedding += bytes;
        break;
      case TensorPart::kLmHead:
        w.lm_head += bytes;
        break;
      case TensorPart::kLinearAttention:
        w.linear_attention += bytes;
        break;
      case TensorPart::kFullAttention:
        w.full_attention += bytes;
        break;
      case TensorPart::kMlp:
        w.mlp += bytes;
        break;
      case TensorPart::kNorm:
        w.norms += bytes;
        break;
      case TensorPart::kVision:
        w.vision += bytes;
        break;
    }
    (t.part == TensorPart::kVision ? m.vision_params : m.text_params) += n;
  }
  const TextSpec& text = spec.text;
  const auto full = static_cast<size_t>(text.num_layers_of(LayerKind::kFullAttention));
  const auto linear = static_cast<size_t>(text.num_layers_of(LayerKind::kLinearAttention));
  m.kv_bytes_per_token =
      2 * static_cast<size_t>(text.num_kv_heads * text.head_dim) * full * DTypeSize(kv_dtype);
  m.recurrent_state_bytes_per_sequence =
      static_cast<size_t>(text.num_v_heads * text.head_k_dim * text.head_v_dim) * linear *
      sizeof(float);
  m.conv_state_bytes_per_sequence =
      static_cast<size_t>((text.conv_kernel_size - 1) * text.conv_dim()) * linear * sizeof(float);
  return m;
}

}  // namespace tpserve::model
