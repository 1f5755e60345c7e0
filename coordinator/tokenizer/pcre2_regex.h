// A compiled PCRE2 pattern (UTF + UCP, JIT when available) that lists every match in a text, the
// way Hugging Face `tokenizers` walks its Oniguruma regex in the Split pre-tokenizer.
//
// Oniguruma and PCRE2 agree on the syntax tokenizer.json patterns use, with one difference that
// changes results: Oniguruma's \s is the Unicode White_Space property, while PCRE2's (with UCP)
// also matches U+180E MONGOLIAN VOWEL SEPARATOR. TranslateOnigPattern rewrites \s and \S into
// explicit White_Space classes so the two engines split the same text the same way.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_PCRE2_REGEX_H_
#define TPSERVE_COORDINATOR_TOKENIZER_PCRE2_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tpserve::tokenizer {

// `pattern` with \s / \S replaced by White_Space classes; InvalidArgument for constructs the
// rewrite cannot handle (\S or a nested set inside a character class, \Q...\E).
absl::StatusOr<std::string> TranslateOnigPattern(std::string_view pattern);

struct MatchSpan {
  size_t begin;
  size_t end;
};

class Pcre2Regex {
 public:
  // Compiles a regex (`literal` false; translated with TranslateOnigPattern first) or a literal
  // string (`literal` true). InvalidArgument with PCRE2's message and offset on a bad pattern.
  static absl::StatusOr<std::unique_ptr<Pcre2Regex>> Compile(std::string_view pattern,
                                                             bool literal);

  ~Pcre2Regex();
  Pcre2Regex(const Pcre2Regex&) = delete;
  Pcre2Regex& operator=(const Pcre2Regex&) = delete;

  // Appends the non-overlapping matches in `subject` (well-formed UTF-8), left to right, to
  // `matches`. An empty match is skipped (the search moves on by one character). Thread-safe.
  absl::Status FindAll(std::string_view subject, std::vector<MatchSpan>* matches) const;

  bool jit() const { return jit_; }

 private:
  Pcre2Regex() = default;

  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_PCRE2_REGEX_H_
