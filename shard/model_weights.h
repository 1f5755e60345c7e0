// ModelWeights: one rank's slices of a Qwen3.5 text model, as views (most of them straight into
// the mmap'd safetensors files, see weight_loader.h). Small 1-D tensors (norms, A_log, dt_bias) and
// the conv kernels are converted to f32 copies owned here.
#ifndef TPSERVE_SHARD_MODEL_WEIGHTS_H_
#define TPSERVE_SHARD_MODEL_WEIGHTS_H_

#include <memory>
#include <optional>
#include <vector>

#include "model/model_spec.h"
#include "ops/core/device_buffer.h"
#include "ops/core/tensor_view.h"
#include "vision/vision_weights.h"

namespace tpserve::shard {

// A linear layer's weight, [out_local, in_local] in PyTorch layout, possibly in several row pieces
// (a fused projection split per segment, e.g. the delta net's q | k | v); pieces are written to
// consecutive output columns.
struct LinearWeight {
  std::vector<ops::ConstTensorView> pieces;  // each [rows_i, in]
  int64_t out_features() const {
    int64_t n = 0;
    for (const auto& p : pieces) n += p.dim(0);
    return n;
  }
  int64_t in_features() const { return pieces.empty() ? 0 : pieces[0].dim(1); }
};

struct FullAttentionWeights {
  LinearWeight q_proj;          // [heads_local * 2 * head_dim, hidden]: per head [query | gate]
  LinearWeight k_proj;          // [kv_heads_local * head_dim, hidden]
  LinearWeight v_proj;          // [kv_heads_local * head_dim, hidden]
  LinearWeight o_proj;          // [hidden, heads_local * head_dim]
  ops::ConstTensorView q_norm;  // [head_dim] f32
  ops::ConstTensorView k_norm;  // [head_dim] f32
};

struct GatedDeltaNetWeights {
  LinearWeight in_proj_qkv;      // [2 * k_heads_local * dk + v_heads_local * dv, hidden]
  LinearWeight in_proj_z;        // [v_heads_local * dv, hidden]
  LinearWeight in_proj_b;        // [v_heads_local, hidden]
  LinearWeight in_proj_a;        // [v_heads_local, hidden]
  ops::ConstTensorView conv1d;   // [conv_channels_local, kernel] f32
  ops::ConstTensorView dt_bias;  // [v_heads_local] f32
  ops::ConstTensorView a_log;    // [v_heads_local] f32
  ops::ConstTensorView norm;     // [dv] f32 (gated norm weight, used as is)
  LinearWeight out_proj;         // [hidden, v_heads_local * dv]
};

struct MlpWeights {
  LinearWeight gate_proj;  // [intermediate_local, hidden]
  LinearWeight up_proj;    // [intermediate_local, hidden]
  LinearWeight down_proj;  // [hidden, intermediate_local]
};

struct LayerWeights {
  model::LayerKind kind = model::LayerKind::kLinearAttention;
  ops::ConstTensorView input_norm;  // [hidden] f32 (zero-centred)
  ops::ConstTensorView post_norm;   // [hidden] f32 (zero-centred)
  FullAttentionWeights attention;   // when kind == kFullAttention
  GatedDeltaNetWeights delta_net;   // when kind == kLinearAttention
  MlpWeights mlp;
};

struct ModelWeights {
  ops::ConstTensorView embed_tokens;  // [vocab_local, hidden]
  ops::ConstTensorView final_norm;    // [hidden] f32 (zero-centred)
  ops::ConstTensorView lm_head;       // [vocab_local, hidden] (the embedding when tied)
  int64_t vocab_begin = 0;            // first vocabulary row of this rank
  std::vector<LayerWeights> layers;
  DType weight_dtype = DType::kBF16;  // dtype of the large matrices
  // The vision tower's share on this rank (views; their copies live in `owned`). Empty for a
  // text-only config or checkpoint.
  std::optional<vision::VisionWeights> vision;

  std::vector<ops::DeviceBuffer> owned;    // converted copies
  std::shared_ptr<const void> keep_alive;  // the mapped checkpoint files
  size_t mapped_bytes = 0;                 // bytes of this rank's views into mapped files
  size_t owned_bytes = 0;                  // bytes of converted copies
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_MODEL_WEIGHTS_H_
