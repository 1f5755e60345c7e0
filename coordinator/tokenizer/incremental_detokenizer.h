// Streaming detokenization: token ids in, text out, one id at a time, such that
//   - every piece of text handed out is whole UTF-8: bytes of a character that spans several
//     tokens are held until the character is complete (an ill-formed sequence becomes U+FFFD
//     as soon as it cannot be completed any more);
//   - no piece ends in part of a guarded string: while the text so far ends with a proper prefix
//     of one (by default every added token written as text, e.g. "</think>" or "<tool_call>"
//     when the model spells it with ordinary tokens), that tail is held until it either
//     completes the string or stops matching;
//   - the concatenation of all pieces plus Finish() equals Tokenizer::Decode of all ids.
// Special tokens (<|im_end|>, ...) are left out by default, as in a chat stream.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_INCREMENTAL_DETOKENIZER_H_
#define TPSERVE_COORDINATOR_TOKENIZER_INCREMENTAL_DETOKENIZER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/tokenizer/tokenizer.h"

namespace tpserve::tokenizer {

struct DetokenizerOptions {
  bool skip_special_tokens = true;
  // Strings never shown in part. Unset: every added token that is decoded as text (all added
  // tokens, less the special ones when they are skipped). Callers add stop strings here.
  std::optional<std::vector<std::string>> guarded_strings;
};

class IncrementalDetokenizer {
 public:
  // `tokenizer` must outlive this object.
  IncrementalDetokenizer(const Tokenizer& tokenizer, DetokenizerOptions options = {});

  // Adds one generated id; returns the text that became final (often empty). An unknown id is
  // InvalidArgument and changes nothing.
  absl::StatusOr<std::string> Push(int32_t id);
  // The end of the stream: whatever is still held (an unfinished character becomes U+FFFD).
  std::string Finish();

  const std::vector<std::string>& guarded_strings() const { return guarded_; }

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<std::string> guarded_;
  std::string pending_bytes_;  // bytes of an unfinished UTF-8 sequence
  std::string held_text_;      // decoded text that may be the start of a guarded string
};

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_INCREMENTAL_DETOKENIZER_H_
