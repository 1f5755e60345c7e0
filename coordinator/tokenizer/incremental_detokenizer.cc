#include "coordinator/tokenizer/incremental_detokenizer.h"

#include <algorithm>

#include "coordinator/tokenizer/utf8.h"

namespace tpserve::tokenizer {
namespace {

// The length of the longest suffix of `text` that is a proper, non-empty prefix of one of
// `guarded`.
size_t GuardedTail(std::string_view text, const std::vector<std::string>& guarded) {
  size_t best = 0;
  for (const std::string& g : guarded) {
    for (size_t n = std::min(text.size(), g.size() - 1); n > best; --n) {
      if (text.compare(text.size() - n, n, g, 0, n) == 0) {
        best = n;
        break;
      }
    }
  }
  return best;
}

}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer,
                                               DetokenizerOptions options)
    : tokenizer_(tokenizer), skip_special_(options.skip_special_tokens) {
  if (options.guarded_strings.has_value()) {
    guarded_ = *std::move(options.guarded_strings);
  } else {
    for (const AddedToken& t : tokenizer.added_tokens()) {
      if (skip_special_ && t.special) continue;
      guarded_.push_back(t.content);
    }
  }
  std::erase_if(guarded_, [](const std::string& g) { return g.size() < 2; });
}

absl::StatusOr<std::string> IncrementalDetokenizer::Push(int32_t id) {
  absl::StatusOr<std::string_view> bytes = tokenizer_.TokenBytes(id);
  if (!bytes.ok()) return bytes.status();
  if (skip_special_ && tokenizer_.IsSpecial(id)) return std::string();
  pending_bytes_.append(*bytes);
  const size_t incomplete = IncompleteUtf8Suffix(pending_bytes_);
  held_text_ +=
      LossyUtf8(std::string_view(pending_bytes_).substr(0, pending_bytes_.size() - incomplete));
  pending_bytes_.erase(0, pending_bytes_.size() - incomplete);
  const size_t hold = GuardedTail(held_text_, guarded_);
  std::string ready = held_text_.substr(0, held_text_.size() - hold);
  held_text_.erase(0, held_text_.size() - hold);
  return ready;
}

std::string IncrementalDetokenizer::Finish() {
  std::string rest = std::move(held_text_);
  rest += LossyUtf8(pending_bytes_);
  held_text_.clear();
  pending_bytes_.clear();
  return rest;
}

}  // namespace tpserve::tokenizer
