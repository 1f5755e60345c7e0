#include "shard/state/sequence_memory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"

namespace tpserve::shard {

SequenceMemory::SequenceMemory(ops::Backend& backend, const SequenceMemoryConfig& config)
    : backend_(backend), config_(config) {}

absl::StatusOr<std::unique_ptr<SequenceMemory>> SequenceMemory::Create(
    ops::Backend& backend, const SequenceMemoryConfig& c) {
  if (c.max_slots <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_slots must be > 0, got ", c.max_slots));
  }
  if (c.max_context <= 0 || c.kv_block_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_context (", c.max_context, ") and kv_block_size (", c.kv_block_size, ") must be > 0"));
  }
  if (c.kv_dtype != DType::kF32 && c.kv_dtype != DType::kBF16) {
    return absl::InvalidArgumentError(
        absl::StrCat("kv_dtype must be f32 or bf16, got ", std::string(DTypeName(c.kv_dtype))));
  }
  std::unique_ptr<SequenceMemory> m(new SequenceMemory(backend, c));
  m->max_blocks_per_seq_ = (c.max_context + c.kv_block_size - 1) / c.kv_block_size;
  m->num_blocks_ = c.num_kv_blocks > 0 ? c.num_kv_blocks
                                       : static_cast<int64_t>(c.max_slots) * m->max_blocks_per_seq_;

  const int64_t kv_rows = m->num_blocks_ * c.kv_block_size;
  const ops::Shape kv_shape{kv_rows, c.kv_heads, c.head_dim};
  const size_t kv_bytes = static_cast<size_t>(kv_shape.num_elements()) * DTypeSize(c.kv_dtype);
  for (int l = 0; l < c.num_full_layers; ++l) {
    for (int which = 0; which < 2; ++which) {
      TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer buf,
                           backend.Allocate(kv_bytes, ops::BufferUsage::kState));
      (which == 0 ? m->k_cache_views_ : m->v_cache_views_)
          .push_back(buf.View(c.kv_dtype, kv_shape));
      m->buffers_.push_back(std::move(buf));
    }
  }
  const ops::Shape rec_shape{c.max_slots, c.v_heads, c.k_head_dim, c.v_head_dim};
  const ops::Shape conv_shape{c.max_slots, c.conv_kernel - 1, c.conv_channels};
  for (int l = 0; l < c.num_linear_layers; ++l) {
    TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer rec,
                         backend.Allocate(static_cast<size_t>(rec_shape.num_elements()) * 4,
                                          ops::BufferUsage::kState));
    m->recurrent_views_.push_back(rec.View(DType::kF32, rec_shape));
    m->buffers_.push_back(std::move(rec));
    TPS_ASSIGN_OR_RETURN(ops::DeviceBuffer conv,
                         backend.Allocate(static_cast<size_t>(conv_shape.num_elements()) * 4,
                                          ops::BufferUsage::kState));
    m->conv_views_.push_back(conv.View(DType::kF32, conv_shape));
    m->buffers_.push_back(std::move(conv));
  }
  m->slot_used_.assign(static_cast<size_t>(c.max_slots), false);
  m->slot_blocks_.assign(
      static_cast<size_t>(c.max_slots) * static_cast<size_t>(m->max_blocks_per_seq_), 0);
  m->slot_num_blocks_.assign(static_cast<size_t>(c.max_slots), 0);
  m->slot_length_.assign(static_cast<size_t>(c.max_slots), 0);
  m->free_blocks_.reserve(static_cast<size_t>(m->num_blocks_));
  for (int64_t b = m->num_blocks_ - 1; b >= 0; --b)
    m->free_blocks_.push_back(static_cast<int32_t>(b));
  return m;
}

absl::Status SequenceMemory::CheckSlot(int32_t slot) const {
  if (slot < 0 || slot >= config_.max_slots || !slot_used_[static_cast<size_t>(slot)]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "slot ", slot, " is not an acquired slot (max_slots ", config_.max_slots, ")"));
  }
  return absl::OkStatus();
}

absl::Status SequenceMemory::ZeroSlotState(int32_t slot) {
  for (size_t l = 0; l < recurrent_views_.size(); ++l) {
    TPS_RETURN_IF_ERROR(backend_.Fill(recurrent_views_[l].Slice(0, slot, slot + 1), 0.0f));
    TPS_RETURN_IF_ERROR(backend_.Fill(conv_views_[l].Slice(0, slot, slot + 1), 0.0f));
  }
  return absl::OkStatus();
}

int32_t SequenceMemory::FindFreeSlot() const {
  for (int32_t s = 0; s < config_.max_slots; ++s) {
    if (!slot_used_[static_cast<size_t>(s)]) return s;
  }
  return -1;
}

absl::Status SequenceMemory::Acquire(int32_t slot) {
  if (slot < 0 || slot >= config_.max_slots || slot_used_[static_cast<size_t>(slot)]) {
    return absl::InvalidArgumentError(
        absl::StrCat("slot ", slot, " is not a free slot (max_slots ", config_.max_slots, ")"));
  }
  TPS_RETURN_IF_ERROR(ZeroSlotState(slot));
  slot_used_[static_cast<size_t>(slot)] = true;
  slot_num_blocks_[static_cast<size_t>(slot)] = 0;
  slot_length_[static_cast<size_t>(slot)] = 0;
  ++slots_in_use_;
  return absl::OkStatus();
}

absl::StatusOr<int32_t> SequenceMemory::AcquireSlot() {
  const int32_t s = FindFreeSlot();
  if (s < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("all ", config_.max_slots, " sequence slots are in use"));
  }
  TPS_RETURN_IF_ERROR(Acquire(s));
  return s;
}

absl::Status SequenceMemory::Reserve(int32_t slot, int32_t num_tokens) {
  TPS_RETURN_IF_ERROR(CheckSlot(slot));
  if (num_tokens > config_.max_context) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sequence needs ", num_tokens, " tokens, above max_context ", config_.max_context));
  }
  const int32_t need = (num_tokens + config_.kv_block_size - 1) / config_.kv_block_size;
  int32_t& have = slot_num_blocks_[static_cast<size_t>(slot)];
  if (need - have > static_cast<int32_t>(free_blocks_.size())) {
    return absl::ResourceExhaustedError(absl::StrCat("KV cache full: need ", need - have,
                                                     " more blocks, ", free_blocks_.size(),
                                                     " free of ", num_blocks_));
  }
  int32_t* table =
      &slot_blocks_[static_cast<size_t>(slot) * static_cast<size_t>(max_blocks_per_seq_)];
  while (have < need) {
    table[have++] = free_blocks_.back();
    free_blocks_.pop_back();
  }
  return absl::OkStatus();
}

absl::Status SequenceMemory::Release(int32_t slot) {
  TPS_RETURN_IF_ERROR(CheckSlot(slot));
  int32_t* table =
      &slot_blocks_[static_cast<size_t>(slot) * static_cast<size_t>(max_blocks_per_seq_)];
  int32_t& have = slot_num_blocks_[static_cast<size_t>(slot)];
  for (int32_t i = 0; i < have; ++i) {
    free_blocks_.push_back(table[i]);
    table[i] = 0;
  }
  have = 0;
  slot_length_[static_cast<size_t>(slot)] = 0;
  slot_used_[static_cast<size_t>(slot)] = false;
  --slots_in_use_;
  return absl::OkStatus();
}

bool SequenceMemory::in_use(int32_t slot) const {
  return slot >= 0 && slot < config_.max_slots && slot_used_[static_cast<size_t>(slot)];
}

const int32_t* SequenceMemory::block_table(int32_t slot) const {
  return &slot_blocks_[static_cast<size_t>(slot) * static_cast<size_t>(max_blocks_per_seq_)];
}

int32_t SequenceMemory::reserved_tokens(int32_t slot) const {
  return slot_num_blocks_[static_cast<size_t>(slot)] * config_.kv_block_size;
}

size_t SequenceMemory::kv_bytes() const {
  size_t b = 0;
  for (const auto& v : k_cache_views_)
    b += 2 * static_cast<size_t>(v.num_elements()) * v.element_size();
  return b;
}

size_t SequenceMemory::state_bytes() const {
  size_t b = 0;
  for (size_t l = 0; l < recurrent_views_.size(); ++l) {
    b +=
        static_cast<size_t>(recurrent_views_[l].num_elements() + conv_views_[l].num_elements()) * 4;
  }
  return b;
}

}  // namespace tpserve::shard
