// The added tokens of tokenizer.json ("added_tokens": special and control tokens such as
// <|im_start|> or <think>). They are cut out of the text before normalization and BPE, so they
// always encode as their own id, with the rules of Hugging Face `tokenizers` (AddedVocabulary):
//   - tokens with "normalized": false match the raw text; those with true match the normalized
//     text (their content normalized the same way);
//   - at each point the leftmost match wins, and among matches starting there the longest;
//   - "single_word": only when not preceded or followed by a word character;
//   - "lstrip" / "rstrip": the match also takes the white space before / after it.
// An added token's id must be the one `tokenizers` would give it (its model.vocab id when the
// content is in the vocabulary, otherwise the next id after the vocabulary), so that a file
// whose written ids `tokenizers` would silently renumber is refused instead of misread.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_ADDED_TOKENS_H_
#define TPSERVE_COORDINATOR_TOKENIZER_ADDED_TOKENS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "coordinator/tokenizer/bpe.h"
#include "coordinator/tokenizer/normalizer.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// A piece of text after splitting out added tokens: [begin, end) of the split text, and the
// token's id or -1 for ordinary text.
struct TextPiece {
  size_t begin;
  size_t end;
  int32_t id;
};

// Finds added tokens in text: a byte trie walked from every position (the same leftmost-longest
// result as the Aho-Corasick automaton `tokenizers` builds).
class AddedTokenMatcher {
 public:
  // `patterns[i]` is what token `tokens[i]` matches (its content, or normalized content).
  void Build(const std::vector<AddedToken>& tokens, const std::vector<std::string>& patterns);
  bool empty() const { return targets_.empty(); }
  // Appends the pieces of `text` (ordinary text and added tokens, covering `text`) to `out`,
  // with offsets shifted by `base`. With `literal_mark` (a byte that valid UTF-8 never holds), a
  // match right after that byte stays ordinary text (Tokenizer::EscapeAddedTokens).
  void Split(std::string_view text, size_t base, std::vector<TextPiece>* out,
             std::optional<char> literal_mark = std::nullopt) const;
  // Calls `found(begin, length)` for each match, left to right (the leftmost-longest rule of
  // Split, ignoring single_word / lstrip / rstrip).
  template <typename F>
  void ForEachMatch(std::string_view text, F found) const {
    for (size_t pos = 0; !targets_.empty() && pos < text.size();) {
      size_t length = 0;
      if (first_byte_[static_cast<uint8_t>(text[pos])] && LongestAt(text, pos, &length) >= 0) {
        found(pos, length);
        pos += length;
      } else {
        ++pos;
      }
    }
  }

 private:
  // Longest pattern starting at `pos`: its index in targets_ and its length; -1 when none.
  int32_t LongestAt(std::string_view text, size_t pos, size_t* length) const;

  struct Target {
    int32_t id;
    bool lstrip;
    bool rstrip;
    bool single_word;
  };
  std::vector<Target> targets_;
  bool first_byte_[256] = {};
  // Trie: edges (node << 8 | byte) -> child; terminal[node] = token index or -1.
  absl::flat_hash_map<uint32_t, int32_t> edges_;
  std::vector<int32_t> terminal_;
};

class AddedVocabulary {
 public:
  // `spec` is tokenizer.json's "added_tokens" array (null or absent: none).
  static absl::StatusOr<AddedVocabulary> FromJson(const nlohmann::json& spec, std::string_view path,
                                                  const BpeModel& model,
                                                  const Normalizer& normalizer);

  AddedVocabulary() = default;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* FindById(int32_t id) const;
  std::optional<int32_t> TokenToId(std::string_view content) const;

  // Stage 1: the tokens with normalized=false, on the raw text.
  const AddedTokenMatcher& raw_matcher() const { return raw_matcher_; }
  // Stage 2: the tokens with normalized=true, on each normalized piece of ordinary text.
  const AddedTokenMatcher& normalized_matcher() const { return normalized_matcher_; }

 private:
  absl::Status BuildMatchers(const Normalizer& normalizer);

  std::vector<AddedToken> tokens_;
  absl::flat_hash_map<int32_t, size_t> by_id_;
  absl::flat_hash_map<std::string, int32_t> by_content_;
  AddedTokenMatcher raw_matcher_;
  AddedTokenMatcher normalized_matcher_;
};

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_ADDED_TOKENS_H_
