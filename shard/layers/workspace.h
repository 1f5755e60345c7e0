// Workspace: scratch activations for one step, sized for the largest step (max_tokens rows) and
// shared by all layers (layers run one after another).
#ifndef TPSERVE_SHARD_LAYERS_WORKSPACE_H_
#define TPSERVE_SHARD_LAYERS_WORKSPACE_H_

#include "ops/core/tensor_view.h"

namespace tpserve::shard {

struct Workspace {
  int64_t max_tokens = 0;
  ops::TensorView hidden;     // [max_tokens, hidden] the residual stream
  ops::TensorView normed;     // [max_tokens, hidden]
  ops::TensorView mixer_out;  // [max_tokens, hidden]
  // Gated attention.
  ops::TensorView q2;    // [max_tokens, heads_local * 2 * head_dim]
  ops::TensorView k;     // [max_tokens, kv_heads_local * head_dim]
  ops::TensorView v;     // [max_tokens, kv_heads_local * head_dim]
  ops::TensorView attn;  // [max_tokens, heads_local * head_dim]
  // Gated DeltaNet.
  ops::TensorView mixed;     // [max_tokens, conv_channels_local]
  ops::TensorView conv_out;  // [max_tokens, conv_channels_local]
  ops::TensorView z;         // [max_tokens, v_heads_local * dv]
  ops::TensorView a;         // [max_tokens, v_heads_local]
  ops::TensorView b;         // [max_tokens, v_heads_local]
  ops::TensorView g;         // [max_tokens, v_heads_local]
  ops::TensorView beta;      // [max_tokens, v_heads_local]
  ops::TensorView core;      // [max_tokens, v_heads_local * dv]
  // MLP.
  ops::TensorView gate;  // [max_tokens, intermediate_local]
  ops::TensorView up;    // [max_tokens, intermediate_local]
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_LAYERS_WORKSPACE_H_
