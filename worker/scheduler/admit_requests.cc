#include "worker/scheduler/admit_requests.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tpserve::worker {

int64_t AdmitRequests::BlocksNeeded(const GenerateParams& params) const {
  return limits_.BlocksFor(static_cast<int64_t>(params.prompt.size()) + params.max_tokens);
}

absl::Status AdmitRequests::CheckFits(const GenerateParams& p) const {
  if (p.prompt.empty()) return absl::InvalidArgumentError("prompt_ids is empty");
  for (size_t i = 0; i < p.prompt.size(); ++i) {
    if (p.prompt[i] < 0 || p.prompt[i] >= limits_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("prompt_ids[", i, "] = ", p.prompt[i],
                                                     " is outside the vocabulary [0, ",
                                                     limits_.vocab_size, ")"));
    }
  }
  if (!p.positions.empty() && p.positions.size() != p.prompt.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(p.positions.size(), " positions for ", p.prompt.size(), " prompt tokens"));
  }
  for (size_t i = 0; i < p.images.size(); ++i) {
    const GenerateParams::Image& image = p.images[i];
    if (image.num_tokens <= 0 || image.image.first_token < 0 ||
        static_cast<int64_t>(image.image.first_token) + image.num_tokens >
            static_cast<int64_t>(p.prompt.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("image ", i, ": its ", image.num_tokens, " pad tokens from index ",
                       image.image.first_token, " are not inside the prompt"));
    }
  }
  if (p.max_tokens <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_tokens must be > 0, got ", p.max_tokens));
  }
  const int64_t total = static_cast<int64_t>(p.prompt.size()) + p.max_tokens;
  if (total > limits_.max_context) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt (", p.prompt.size(), " tokens) + max_tokens (", p.max_tokens,
                     ") = ", total, " exceeds the context length ", limits_.max_context));
  }
  if (absl::Status s = p.sampling.ValidateForVocab(limits_.vocab_size); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("sampling: ", s.message()));
  }
  if (p.thinking_budget > 0 &&
      (p.think_end_token_id < 0 || p.think_end_token_id >= limits_.vocab_size)) {
    return absl::InvalidArgumentError(absl::StrCat("think_end_token_id ", p.think_end_token_id,
                                                   " is outside the vocabulary (thinking_budget ",
                                                   p.thinking_budget, ")"));
  }
  const int64_t blocks = BlocksNeeded(p);
  if (blocks > limits_.num_kv_blocks) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the sequence needs ", blocks, " KV blocks of ", limits_.kv_block_size,
                     " tokens, the replica has ", limits_.num_kv_blocks, " in all"));
  }
  return absl::OkStatus();
}

int AdmitRequests::Run(BatchState& state, absl::Time now) const {
  int admitted = 0;
  auto& waiting = state.waiting();
  while (!waiting.empty()) {
    Sequence& head = *waiting.front();
    const int32_t slot = state.FreeSlot();
    const int64_t blocks = BlocksNeeded(head.params);
    if (slot < 0 || state.blocks_committed() + blocks > limits_.num_kv_blocks) break;
    std::unique_ptr<Sequence> seq = std::move(waiting.front());
    waiting.erase(waiting.begin());
    state.TakeSlot(*seq, slot, blocks);
    seq->admitted = now;
    state.running().push_back(std::move(seq));
    ++admitted;
  }
  return admitted;
}

}  // namespace tpserve::worker
