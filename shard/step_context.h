// StepContext: the flat per-step metadata every layer reads (built by Qwen35Model from a StepPlan),
// plus the hook for partial-sum reduction across tensor-parallel ranks.
#ifndef TPSERVE_SHARD_STEP_CONTEXT_H_
#define TPSERVE_SHARD_STEP_CONTEXT_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "ops/core/tensor_view.h"

namespace tpserve::shard {

struct StepContext {
  int64_t num_tokens = 0;
  int64_t num_seqs = 0;
  ops::ConstTensorView token_ids;     // [n] i32
  ops::ConstTensorView positions;     // [n, 3] i32 (t, h, w)
  ops::ConstTensorView seq_starts;    // [num_seqs + 1] i32
  ops::ConstTensorView slots;         // [num_seqs] i32
  ops::ConstTensorView context_lens;  // [num_seqs] i32: tokens in cache after this step
  ops::ConstTensorView block_tables;  // [num_seqs, max_blocks_per_seq] i32
  ops::ConstTensorView slot_mapping;  // [n] i32: KV cache row of each new token
  int64_t kv_block_size = 16;
  // Sums a row-parallel partial result across the ranks of the group, in place. Empty when the
  // model is not sharded (tp_size 1).
  std::function<absl::Status(ops::TensorView)> all_reduce;

  absl::Status AllReduce(ops::TensorView t) const {
    return all_reduce ? all_reduce(t) : absl::OkStatus();
  }
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_STEP_CONTEXT_H_
