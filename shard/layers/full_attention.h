// Gated full attention (spec §3.6) on one rank's heads: q(+gate)/k/v projections, zero-centred
// q/k norms, partial interleaved M-RoPE, the paged KV cache, GQA softmax attention, the sigmoid
// output gate, and the row-parallel o_proj (its partial sum is reduced by the caller).
#ifndef TPSERVE_SHARD_LAYERS_FULL_ATTENTION_H_
#define TPSERVE_SHARD_LAYERS_FULL_ATTENTION_H_

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "ops/core/backend.h"
#include "shard/layers/workspace.h"
#include "shard/model_weights.h"
#include "shard/state/sequence_memory.h"
#include "shard/step_context.h"

namespace tpserve::shard {

struct FullAttentionDims {
  int64_t hidden = 0;
  int64_t heads_local = 0;
  int64_t kv_heads_local = 0;
  int64_t head_dim = 0;
  int64_t rotary_dim = 0;
  float rope_theta = 1e7f;
  std::array<int32_t, 3> mrope_sections = {0, 0, 0};
  bool mrope_interleaved = true;
  float eps = 1e-6f;
};

class FullAttentionLayer {
 public:
  // `cache_index` selects this layer's KV cache in `memory`.
  FullAttentionLayer(const FullAttentionDims& dims, const FullAttentionWeights& weights,
                     int cache_index)
      : dims_(dims), weights_(weights), cache_index_(cache_index) {}

  // normed: [n, hidden]; out: [n, hidden] (this rank's partial sum).
  absl::Status Forward(ops::Backend& backend, const StepContext& ctx, SequenceMemory& memory,
                       Workspace& ws, ops::ConstTensorView normed, ops::TensorView out) const;

 private:
  FullAttentionDims dims_;
  FullAttentionWeights weights_;
  int cache_index_;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_LAYERS_FULL_ATTENTION_H_
