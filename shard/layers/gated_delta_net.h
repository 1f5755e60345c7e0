// Gated DeltaNet (spec §3.5) on one rank's key-head groups: qkv/z/b/a projections, the causal
// depthwise conv with carried state, q/k L2 norm, the gated delta rule with carried recurrent
// state, the per-head gated RMSNorm and the row-parallel out_proj (reduced by the caller).
#ifndef TPSERVE_SHARD_LAYERS_GATED_DELTA_NET_H_
#define TPSERVE_SHARD_LAYERS_GATED_DELTA_NET_H_

#include <cstdint>

#include "absl/status/status.h"
#include "ops/core/backend.h"
#include "shard/layers/workspace.h"
#include "shard/model_weights.h"
#include "shard/state/sequence_memory.h"
#include "shard/step_context.h"

namespace tpserve::shard {

struct GatedDeltaNetDims {
  int64_t hidden = 0;
  int64_t k_heads_local = 0;
  int64_t v_heads_local = 0;
  int64_t k_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t conv_kernel = 4;
  float eps = 1e-6f;
  int64_t chunk_size = 64;  // 0: always the token-by-token recurrence

  int64_t key_dim_local() const { return k_heads_local * k_head_dim; }
  int64_t value_dim_local() const { return v_heads_local * v_head_dim; }
  int64_t conv_channels_local() const { return 2 * key_dim_local() + value_dim_local(); }
};

class GatedDeltaNetLayer {
 public:
  // `state_index` selects this layer's recurrent and conv state in `memory`.
  GatedDeltaNetLayer(const GatedDeltaNetDims& dims, const GatedDeltaNetWeights& weights,
                     int state_index)
      : dims_(dims), weights_(weights), state_index_(state_index) {}

  // normed: [n, hidden]; out: [n, hidden] (this rank's partial sum).
  absl::Status Forward(ops::Backend& backend, const StepContext& ctx, SequenceMemory& memory,
                       Workspace& ws, ops::ConstTensorView normed, ops::TensorView out) const;

  void set_chunk_size(int64_t chunk_size) { dims_.chunk_size = chunk_size; }

 private:
  GatedDeltaNetDims dims_;
  GatedDeltaNetWeights weights_;
  int state_index_;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_LAYERS_GATED_DELTA_NET_H_
