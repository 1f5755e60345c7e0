// Communicator: collectives across the ranks of one tensor-parallel group (c10d's shape, trimmed to
// the four collectives that have callers).
//
// All tensors live on the communicator's device. Every rank must issue the same collectives in the
// same order; sequence_number() counts them so a desync or a stuck call can be reported by rank,
// number and op. CPU implementations block the calling thread; NCCL enqueues on the backend's
// stream. A failed collective (a dead peer, a timeout, Abort()) fails every later call as well:
// the group must be re-formed.
#ifndef TPSERVE_OPS_COMM_COMMUNICATOR_H_
#define TPSERVE_OPS_COMM_COMMUNICATOR_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ops/core/tensor_view.h"

namespace tpserve::comm {

enum class ReduceOp : uint8_t { kSum, kMax };

struct CollectiveOptions {
  absl::Duration timeout = absl::ZeroDuration();  // zero: the communicator's default
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string_view name() const = 0;  // "gloo", "nccl"
  virtual uint64_t sequence_number() const = 0;

  // In place: every rank ends with the element-wise reduction.   inout: [n] f32, contiguous
  virtual absl::Status AllReduce(ops::TensorView inout, ReduceOp op,
                                 const CollectiveOptions& options = {}) = 0;
  // out = concatenation over ranks of `in` along dim 0.   in: [n, ...]  out: [world_size * n, ...]
  virtual absl::Status AllGather(ops::ConstTensorView in, ops::TensorView out,
                                 const CollectiveOptions& options = {}) = 0;
  // Root's `inout` is copied to every rank (any dtype, contiguous).
  virtual absl::Status Broadcast(ops::TensorView inout, int root,
                                 const CollectiveOptions& options = {}) = 0;
  virtual absl::Status Barrier(const CollectiveOptions& options = {}) = 0;

  // Fails the outstanding collective (where the transport allows) and every later call with
  // `reason`. Thread-safe; used by a watchdog.
  virtual void Abort(const absl::Status& reason) = 0;
};

}  // namespace tpserve::comm

#endif  // TPSERVE_OPS_COMM_COMMUNICATOR_H_
