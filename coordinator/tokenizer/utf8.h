// UTF-8 helpers for the tokenizer: strict validation with the byte offset of the first error,
// lossy decoding with the same replacement rule as Rust's String::from_utf8_lossy (which Hugging
// Face `tokenizers` uses when decoding), and the streaming question "how much of this buffer is a
// finished sequence of characters".
#ifndef TPSERVE_COORDINATOR_TOKENIZER_UTF8_H_
#define TPSERVE_COORDINATOR_TOKENIZER_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace tpserve::tokenizer {

// OK when `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
// Otherwise InvalidArgument "invalid UTF-8 at byte offset N: <what>", where `what_name` (if not
// empty) is prefixed, e.g. "text: invalid UTF-8 at byte offset 3: ...".
absl::Status ValidateUtf8(std::string_view text, std::string_view what_name = "");

// `bytes` as UTF-8 with every ill-formed part replaced by U+FFFD, one replacement per maximal
// subpart of an ill-formed sequence (Unicode §3.9 "substitution of maximal subparts", the rule
// of Rust's from_utf8_lossy and Python's errors="replace").
std::string LossyUtf8(std::string_view bytes);

// The number of bytes at the end of `bytes` that are the start of a well-formed sequence that is
// not complete yet (0 to 3): more bytes could still complete them. Everything before that point
// decodes the same whatever comes next.
size_t IncompleteUtf8Suffix(std::string_view bytes);

// Decodes the code point at `text[*pos]` (well-formed UTF-8 expected) and advances *pos. A byte
// that cannot start a sequence, or a sequence cut by the end of `text`, is U+FFFD of one byte.
char32_t NextCodePoint(std::string_view text, size_t* pos);

// Appends the UTF-8 encoding of `cp` (which must be a Unicode scalar value).
void AppendUtf8(char32_t cp, std::string* out);

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_UTF8_H_
