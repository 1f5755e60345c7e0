// Internal: the CPU kernels behind CpuBackend, one file per op under ops/cpu/kernels/. Each
// validates its arguments (InvalidArgument naming the field, the shape it got and the one it
// expected) and runs on `pool`.
#ifndef TPSERVE_OPS_CPU_KERNELS_KERNELS_H_
#define TPSERVE_OPS_CPU_KERNELS_KERNELS_H_

#include "absl/status/status.h"
#include "ops/core/op_args.h"
#include "ops/cpu/thread_pool.h"

namespace tpserve::ops::cpu {

absl::Status MatMul(ThreadPool& pool, const MatMulArgs& args);
absl::Status Embedding(ThreadPool& pool, const EmbeddingArgs& args);
absl::Status RmsNorm(ThreadPool& pool, const RmsNormArgs& args);
absl::Status L2Norm(ThreadPool& pool, const L2NormArgs& args);
absl::Status GatedRmsNorm(ThreadPool& pool, const GatedRmsNormArgs& args);
absl::Status Rope(ThreadPool& pool, const RopeArgs& args);
absl::Status StoreKv(ThreadPool& pool, const StoreKvArgs& args);
absl::Status Attention(ThreadPool& pool, const AttentionArgs& args);
absl::Status CausalConv1d(ThreadPool& pool, const CausalConv1dArgs& args);
absl::Status DeltaNetGates(ThreadPool& pool, const DeltaNetGatesArgs& args);
absl::Status GatedDeltaNet(ThreadPool& pool, const GatedDeltaNetArgs& args);
absl::Status SiluMul(ThreadPool& pool, const SiluMulArgs& args);
absl::Status SigmoidMul(ThreadPool& pool, const SigmoidMulArgs& args);
absl::Status Add(ThreadPool& pool, const AddArgs& args);
absl::Status Softmax(ThreadPool& pool, const SoftmaxArgs& args);
absl::Status LayerNorm(ThreadPool& pool, const LayerNormArgs& args);
absl::Status Gelu(ThreadPool& pool, const GeluArgs& args);
absl::Status Rope2d(ThreadPool& pool, const Rope2dArgs& args);
absl::Status SegmentAttention(ThreadPool& pool, const SegmentAttentionArgs& args);

}  // namespace tpserve::ops::cpu

#endif  // TPSERVE_OPS_CPU_KERNELS_KERNELS_H_
