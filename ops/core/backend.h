// The one device abstraction. Each backend (ops/cpu, later ops/cuda and ops/vulkan) implements it
// in its own folder, one file per op.
//
// A Backend is one device plus one in-order execution queue (the calling thread plus a fixed worker
// pool for the CPU; a stream or queue for GPUs). Ops are enqueued: they return once the work is
// ordered on the queue; call Synchronize() before reading results on the host. Argument errors
// (shape or dtype mismatches) are returned as InvalidArgument before anything is enqueued.
//
// Ownership: Allocate() returns a DeviceBuffer that owns its memory; TensorViews never own.
// Thread-safety: a Backend is used by one thread at a time (the worker's step thread).
#ifndef TPSERVE_OPS_CORE_BACKEND_H_
#define TPSERVE_OPS_CORE_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ops/core/device_buffer.h"
#include "ops/core/op_args.h"
#include "ops/core/tensor_view.h"

namespace tpserve::ops {

enum class DeviceKind : uint8_t { kCpu, kCuda, kVulkan };
enum class BufferUsage : uint8_t { kWeights, kActivations, kState, kStaging };

struct DeviceInfo {
  DeviceKind kind = DeviceKind::kCpu;
  std::string description;  // "cpu: 2 threads, avx512 (bf16, vnni)"
  size_t total_memory_bytes = 0;
  size_t free_memory_bytes = 0;
  int num_threads = 0;  // CPU only
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual DeviceKind kind() const = 0;
  virtual std::string_view name() const = 0;  // "cpu", "cuda:0", "vulkan:0"
  virtual DeviceInfo info() const = 0;

  // True when host code may read and write device memory through TensorView::data directly (CPU).
  virtual bool host_accessible() const = 0;

  // Memory.
  virtual absl::StatusOr<DeviceBuffer> Allocate(size_t bytes, BufferUsage usage) = 0;
  virtual absl::Status Upload(absl::Span<const std::byte> src, TensorView dst) = 0;
  virtual absl::Status Download(ConstTensorView src, absl::Span<std::byte> dst) = 0;
  virtual absl::Status Fill(TensorView dst, float value) = 0;  // f32 views: set every element
  virtual absl::Status Synchronize() = 0;

  // Capabilities: whether `op` runs with weights/cache of `dtype` on this backend.
  virtual bool Supports(OpKind op, DType dtype) const = 0;

  // Ops: one method per op, one Args struct per method (op_args.h).
  virtual absl::Status MatMul(const MatMulArgs& args) = 0;
  virtual absl::Status Embedding(const EmbeddingArgs& args) = 0;
  virtual absl::Status RmsNorm(const RmsNormArgs& args) = 0;
  virtual absl::Status L2Norm(const L2NormArgs& args) = 0;
  virtual absl::Status GatedRmsNorm(const GatedRmsNormArgs& args) = 0;
  virtual absl::Status Rope(const RopeArgs& args) = 0;
  virtual absl::Status StoreKv(const StoreKvArgs& args) = 0;
  virtual absl::Status Attention(const AttentionArgs& args) = 0;
  virtual absl::Status CausalConv1d(const CausalConv1dArgs& args) = 0;
  virtual absl::Status DeltaNetGates(const DeltaNetGatesArgs& args) = 0;
  virtual absl::Status GatedDeltaNet(const GatedDeltaNetArgs& args) = 0;
  virtual absl::Status SiluMul(const SiluMulArgs& args) = 0;
  virtual absl::Status SigmoidMul(const SigmoidMulArgs& args) = 0;
  virtual absl::Status Add(const AddArgs& args) = 0;
  virtual absl::Status Softmax(const SoftmaxArgs& args) = 0;
  // Vision tower ops.
  virtual absl::Status LayerNorm(const LayerNormArgs& args) = 0;
  virtual absl::Status Gelu(const GeluArgs& args) = 0;
  virtual absl::Status Rope2d(const Rope2dArgs& args) = 0;
  virtual absl::Status SegmentAttention(const SegmentAttentionArgs& args) = 0;
};

std::string_view OpKindName(OpKind op);

}  // namespace tpserve::ops

#endif  // TPSERVE_OPS_CORE_BACKEND_H_
