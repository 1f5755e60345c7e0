// StepPlan: what one forward step computes. It carries ids, positions, slots and encoded image
// bytes, never tensors, so a group leader can send it to its followers as is (DESIGN.md "What
// crosses which boundary"): every rank decodes the images and runs its share of the tower itself.
#ifndef TPSERVE_SHARD_STEP_PLAN_H_
#define TPSERVE_SHARD_STEP_PLAN_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tpserve::shard {

enum class LogitsMode : uint8_t {
  kNone,  // a prefill chunk that is not the prompt's last
  kLast,  // logits of the chunk's last token (to sample the next token)
  kAll,   // logits of every token in the chunk (scoring, --logits-out)
};

// An image of a sequence: its encoded bytes (PNG, JPEG or WebP) and where its image-pad tokens
// start. A step carries the images whose pad tokens [first_token, first_token + tokens) overlap
// the step's tokens; the model encodes each once (caching it while a prefill spans several
// chunks) and writes its embeddings over those rows.
struct StepImage {
  std::shared_ptr<const std::string> bytes;
  int32_t first_token = 0;  // sequence index of the image's first image-pad token
};

// One sequence's share of a step: a prefill chunk or a decode token.
struct SequenceStep {
  int32_t slot = 0;                // state row owned by the sequence (SequenceMemory)
  int32_t start_index = 0;         // tokens already in this sequence's caches
  std::vector<int32_t> token_ids;  // the new tokens, at sequence indices start_index + i
  // M-RoPE positions (t, h, w) of each new token. Empty: text positions, all three axes equal to
  // start_index + i + position_offset.
  std::vector<std::array<int32_t, 3>> positions;
  int32_t position_offset = 0;  // M-RoPE delta after images (spec §4); 0 for text-only
  LogitsMode logits = LogitsMode::kLast;
  // The sequence starts in this step: the model acquires `slot` (it must be free) and zeroes its
  // state before running. Every rank of a group thus allocates the same slots in the same order.
  bool new_sequence = false;
  // Images whose pad tokens fall (partly) in this step's tokens (spec §5.9).
  std::vector<StepImage> images;
};

struct StepPlan {
  uint64_t step_id = 0;
  std::vector<SequenceStep> sequences;
  // Slots of finished sequences, released before this step's sequences run (a plan may carry only
  // releases).
  std::vector<int32_t> release_slots;

  int64_t num_tokens() const {
    int64_t n = 0;
    for (const auto& s : sequences) n += static_cast<int64_t>(s.token_ids.size());
    return n;
  }
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_STEP_PLAN_H_
