#include "shard/layers/gated_delta_net.h"

#include <cmath>

#include "ops/base/status_macros.h"
#include "shard/layers/linear.h"

namespace tpserve::shard {

absl::Status GatedDeltaNetLayer::Forward(ops::Backend& backend, const StepContext& ctx,
                                         SequenceMemory& memory, Workspace& ws,
                                         ops::ConstTensorView normed, ops::TensorView out) const {
  const int64_t n = ctx.num_tokens;
  const int64_t hk = dims_.k_heads_local, hv = dims_.v_heads_local;
  const int64_t dk = dims_.k_head_dim, dv = dims_.v_head_dim;
  const int64_t key_dim = dims_.key_dim_local(), channels = dims_.conv_channels_local();

  ops::TensorView mixed = Rows(ws.mixed, n), z = Rows(ws.z, n);
  ops::TensorView a = Rows(ws.a, n), b = Rows(ws.b, n);
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.in_proj_qkv, normed, mixed));
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.in_proj_z, normed, z));
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.in_proj_b, normed, b));
  TPS_RETURN_IF_ERROR(ApplyLinear(backend, weights_.in_proj_a, normed, a));

  ops::TensorView conv_out = Rows(ws.conv_out, n);
  ops::CausalConv1dArgs conv{.x = mixed,
                             .weight = weights_.conv1d,
                             .state = memory.conv_state(state_index_),
                             .slots = ctx.slots,
                             .seq_starts = ctx.seq_starts,
                             .out = conv_out,
                             .silu = true};
  TPS_RETURN_IF_ERROR(backend.CausalConv1d(conv));

  // The conv output is [q (hk·dk) | k (hk·dk) | v (hv·dv)] per token; heads are views into it.
  const std::array<int64_t, ops::kMaxDims> qk_strides = {channels, dk, 1, 0};
  const std::array<int64_t, ops::kMaxDims> v_strides = {channels, dv, 1, 0};
  float* base = static_cast<float*>(conv_out.data);
  ops::TensorView q(base, DType::kF32, ops::Shape{n, hk, dk}, qk_strides);
  ops::TensorView k(base + key_dim, DType::kF32, ops::Shape{n, hk, dk}, qk_strides);
  ops::TensorView v(base + 2 * key_dim, DType::kF32, ops::Shape{n, hv, dv}, v_strides);

  ops::L2NormArgs qn{
      .x = q, .out = q, .eps = 1e-6f, .scale = 1.0f / std::sqrt(static_cast<float>(dk))};
  TPS_RETURN_IF_ERROR(backend.L2Norm(qn));
  ops::L2NormArgs kn{.x = k, .out = k, .eps = 1e-6f, .scale = 1.0f};
  TPS_RETURN_IF_ERROR(backend.L2Norm(kn));

  ops::TensorView g = Rows(ws.g, n), beta = Rows(ws.beta, n);
  ops::DeltaNetGatesArgs gates{
      .a = a, .b = b, .a_log = weights_.a_log, .dt_bias = weights_.dt_bias, .g = g, .beta = beta};
  TPS_RETURN_IF_ERROR(backend.DeltaNetGates(gates));

  ops::TensorView core = Rows(ws.core, n).Reshape(ops::Shape{n, hv, dv});
  ops::GatedDeltaNetArgs rule{.q = q,
                              .k = k,
                              .v = v,
                              .g = g,
                              .beta = beta,
                              .state = memory.recurrent_state(state_index_),
                              .slots = ctx.slots,
                              .seq_starts = ctx.seq_starts,
                              .out = core,
                              .chunk_size = dims_.chunk_size};
  TPS_RETURN_IF_ERROR(backend.GatedDeltaNet(rule));

  ops::GatedRmsNormArgs norm{.x = core,
                             .z = z.Reshape(ops::Shape{n, hv, dv}),
                             .weight = weights_.norm,
                             .out = core,
                             .eps = dims_.eps};
  TPS_RETURN_IF_ERROR(backend.GatedRmsNorm(norm));
  return ApplyLinear(backend, weights_.out_proj, Rows(ws.core, n), out);
}

}  // namespace tpserve::shard
