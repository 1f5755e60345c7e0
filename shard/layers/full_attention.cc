#include "shard/layers/full_attention.h"

#include <cmath>

#include "ops/base/status_macros.h"
#include "shard/layers/linear.h"

namespace tpserve::shard {

absl::Status FullAttentionLayer::Forward(ops::Backend& backend, const StepContext& ctx,
                                         SequenceMemory& memory, Workspace& ws,
                                         ops::ConstTensorView normed, ops::TensorView out) const {
  const int64_t n = ctx.num_tokens;
  const int64_t hq = dims_.heads_local, hkv = dims_.kv_heads_local, d = dims_.head_dim;
  ops::TensorView q2 = Rows(ws.q2, n), k = Rows(ws.k, n), v = Rows(ws.v, n);
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.q_proj, normed, q2));
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.k_proj, normed, k));
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.v_proj, normed, v));

  // q_proj's output is per head [query(d) | gate(d)], so query and gate are strided views.
  const std::array<int64_t, ops::kMaxDims> qg_strides = {hq * 2 * d, 2 * d, 1, 0};
  ops::TensorView q(q2.data, DType::kF32, ops::Shape{n, hq, d}, qg_strides);
  ops::TensorView gate = q;
  gate.data = static_cast<float*>(q2.data) + d;
  ops::TensorView k3 = k.Reshape(ops::Shape{n, hkv, d});
  ops::TensorView v3 = v.Reshape(ops::Shape{n, hkv, d});

  ops::RmsNormArgs qn{.x = q, .weight = weights_.q_norm, .out = q, .eps = dims_.eps};
  TPS_RETURN_IF_ERROR(backend.RmsNorm(qn));
  ops::RmsNormArgs kn{.x = k3, .weight = weights_.k_norm, .out = k3, .eps = dims_.eps};
  TPS_RETURN_IF_ERROR(backend.RmsNorm(kn));

  for (ops::TensorView* x : {&q, &k3}) {
    ops::RopeArgs rope;
    rope.x = *x;
    rope.positions = ctx.positions;
    rope.rotary_dim = dims_.rotary_dim;
    rope.theta = dims_.rope_theta;
    rope.sections = dims_.mrope_sections;
    rope.interleaved = dims_.mrope_interleaved;
    TPS_RETURN_IF_ERROR(backend.Rope(rope));
  }

  ops::StoreKvArgs store{.k = k3,
                         .v = v3,
                         .slot_mapping = ctx.slot_mapping,
                         .k_cache = memory.k_cache(cache_index_),
                         .v_cache = memory.v_cache(cache_index_)};
  TPS_RETURN_IF_ERROR(backend.StoreKv(store));

  ops::TensorView attn = Rows(ws.attn, n).Reshape(ops::Shape{n, hq, d});
  ops::AttentionArgs at;
  at.q = q;
  at.k_cache = memory.k_cache(cache_index_);
  at.v_cache = memory.v_cache(cache_index_);
  at.block_tables = ctx.block_tables;
  at.seq_starts = ctx.seq_starts;
  at.context_lens = ctx.context_lens;
  at.out = attn;
  at.block_size = ctx.kv_block_size;
  at.scale = 1.0f / std::sqrt(static_cast<float>(d));
  at.causal = true;
  TPS_RETURN_IF_ERROR(backend.Attention(at));

  ops::SigmoidMulArgs gated{.x = attn, .gate = gate, .out = attn};
  TPS_RETURN_IF_ERROR(backend.SigmoidMul(gated));
  return ApplyLinear(backend, weights_.o_proj, Rows(ws.attn, n), out);
}

}  // namespace tpserve::shard
