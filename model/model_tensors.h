// The tensors a Qwen3.5 checkpoint holds (spec §2): exact Hugging Face names and shapes, derived
// from a Qwen35Spec. Used by the random-model writer, the memory estimate and load-time checks.
#ifndef TPSERVE_MODEL_MODEL_TENSORS_H_
#define TPSERVE_MODEL_MODEL_TENSORS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_spec.h"

namespace tpserve::model {

// Which part of the model a tensor belongs to (for size reports).
enum class TensorPart : uint8_t {
  kEmbedding,        // embed_tokens
  kLmHead,           // lm_head (untied sizes only)
  kLinearAttention,  // linear_attn.* of Gated DeltaNet layers
  kFullAttention,    // self_attn.* of full-attention layers
  kMlp,              // mlp.*
  kNorm,             // input/post-attention layernorms and the final norm
  kVision,           // model.visual.*
};

// How a tensor is initialised by the random-model writer (and what its values mean).
enum class TensorRole : uint8_t {
  kEmbedding,          // token embedding rows
  kLinear,             // a Linear / Conv3d weight, fan-in = product of dims after the first
  kZeroCentredNorm,    // RMSNorm weight applied as (1 + w)
  kScaleNorm,          // gated RMSNorm weight or LayerNorm weight applied as w
  kBias,               // a bias vector (vision) or a LayerNorm bias
  kALog,               // linear_attn.A_log
  kDtBias,             // linear_attn.dt_bias
  kConv,               // linear_attn.conv1d.weight (depthwise causal conv)
  kPositionEmbedding,  // vision pos_embed
};

struct TensorDecl {
  std::string name;
  std::vector<int64_t> shape;
  TensorPart part;
  TensorRole role;

  int64_t num_elements() const;
};

// Every tensor of the text model (with lm_head.weight only when embeddings are untied) and, when
// `include_vision` and the spec has a vision tower, of model.visual.*. MTP tensors are never
// listed. Order: embedding, layers 0..L-1 (norms, mixer, mlp), final norm, lm_head, vision.
std::vector<TensorDecl> ListQwen35Tensors(const Qwen35Spec& spec, bool include_vision);

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_MODEL_TENSORS_H_
