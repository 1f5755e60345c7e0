// SequenceMemory: the hybrid per-sequence state of one model shard.
//
// - Full-attention layers keep a paged KV cache: a pool of blocks of `kv_block_size` tokens per
//   layer, [num_blocks * block_size, kv_heads_local, head_dim]; a sequence owns a block table.
// - Gated-DeltaNet layers keep a fixed-size state per sequence slot, f32: the recurrent state
//   [max_slots, v_heads_local, dk, dv] and the conv state [max_slots, kernel - 1, conv_channels].
//
// A sequence acquires a slot (its DeltaNet rows are zeroed), reserves KV blocks as it grows, and
// releases both when it ends. Not thread-safe: owned by the step thread.
#ifndef TPSERVE_SHARD_STATE_SEQUENCE_MEMORY_H_
#define TPSERVE_SHARD_STATE_SEQUENCE_MEMORY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ops/core/backend.h"

namespace tpserve::shard {

struct SequenceMemoryConfig {
  int32_t max_slots = 1;       // concurrent sequences
  int32_t max_context = 4096;  // tokens per sequence
  int32_t kv_block_size = 16;
  int64_t num_kv_blocks = 0;     // 0: enough for every slot at max_context
  DType kv_dtype = DType::kF32;  // f32 or bf16

  // Shapes (local to this rank).
  int num_full_layers = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int num_linear_layers = 0;
  int64_t v_heads = 0;
  int64_t k_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t conv_channels = 0;
  int64_t conv_kernel = 4;
};

class SequenceMemory {
 public:
  static absl::StatusOr<std::unique_ptr<SequenceMemory>> Create(ops::Backend& backend,
                                                                const SequenceMemoryConfig& config);

  // A free slot with zeroed DeltaNet state; ResourceExhausted when all are in use.
  absl::StatusOr<int32_t> AcquireSlot();
  // Acquires a specific free slot (InvalidArgument when it is out of range or in use).
  absl::Status Acquire(int32_t slot);
  // The lowest free slot, or -1.
  int32_t FindFreeSlot() const;
  // Ensures the slot's block table covers token indices [0, num_tokens). ResourceExhausted when the
  // pool is out of blocks; InvalidArgument past max_context.
  absl::Status Reserve(int32_t slot, int32_t num_tokens);
  // Frees the slot and its blocks.
  absl::Status Release(int32_t slot);

  bool in_use(int32_t slot) const;
  // Block table of `slot`: [max_blocks_per_seq] i32 (unused entries are 0).
  const int32_t* block_table(int32_t slot) const;
  int32_t reserved_tokens(int32_t slot) const;
  // Tokens whose state the slot holds (advanced by the model after each step).
  int32_t length(int32_t slot) const { return slot_length_[static_cast<size_t>(slot)]; }
  void set_length(int32_t slot, int32_t length) {
    slot_length_[static_cast<size_t>(slot)] = length;
  }

  ops::TensorView k_cache(int full_layer) const {
    return k_cache_views_[static_cast<size_t>(full_layer)];
  }
  ops::TensorView v_cache(int full_layer) const {
    return v_cache_views_[static_cast<size_t>(full_layer)];
  }
  ops::TensorView recurrent_state(int linear_layer) const {
    return recurrent_views_[static_cast<size_t>(linear_layer)];
  }
  ops::TensorView conv_state(int linear_layer) const {
    return conv_views_[static_cast<size_t>(linear_layer)];
  }

  const SequenceMemoryConfig& config() const { return config_; }
  int32_t max_blocks_per_seq() const { return max_blocks_per_seq_; }
  int32_t slots_in_use() const { return slots_in_use_; }
  int64_t blocks_in_use() const { return num_blocks_ - static_cast<int64_t>(free_blocks_.size()); }
  int64_t num_blocks() const { return num_blocks_; }
  size_t kv_bytes() const;
  size_t state_bytes() const;

 private:
  SequenceMemory(ops::Backend& backend, const SequenceMemoryConfig& config);
  absl::Status ZeroSlotState(int32_t slot);
  absl::Status CheckSlot(int32_t slot) const;

  ops::Backend& backend_;
  SequenceMemoryConfig config_;
  int32_t max_blocks_per_seq_ = 0;
  int64_t num_blocks_ = 0;

  std::vector<ops::DeviceBuffer> buffers_;
  std::vector<ops::TensorView> k_cache_views_, v_cache_views_;  // per full layer
  std::vector<ops::TensorView> recurrent_views_, conv_views_;   // per linear layer

  std::vector<bool> slot_used_;
  std::vector<int32_t> slot_blocks_;      // [max_slots * max_blocks_per_seq]
  std::vector<int32_t> slot_num_blocks_;  // blocks held per slot
  std::vector<int32_t> slot_length_;      // tokens held per slot
  std::vector<int32_t> free_blocks_;      // stack of free block ids
  int32_t slots_in_use_ = 0;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_STATE_SEQUENCE_MEMORY_H_
