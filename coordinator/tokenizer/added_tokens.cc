#include "coordinator/tokenizer/added_tokens.h"

#include <utf8proc.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/absl_compat.h"
#include "coordinator/tokenizer/json_fields.h"
#include "coordinator/tokenizer/utf8.h"
#include "ops/base/status_macros.h"

namespace tpserve::tokenizer {
namespace {

// Unicode White_Space (what the `regex` crate's \s matches, used by lstrip / rstrip).
bool IsWhiteSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// The `regex` crate's \w: alphabetic, marks, decimal digits, connector punctuation, joiners.
// (Approximated by general category; Other_Alphabetic symbols such as circled letters are not
// counted.)
bool IsWordChar(char32_t c) {
  if (c == 0x200C || c == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

// Start of the code point that ends at `end` (exclusive) in well-formed `text`.
size_t PrevCharStart(std::string_view text, size_t end) {
  size_t p = end - 1;
  while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
  return p;
}

bool EndsWithWord(std::string_view text, size_t end) {
  if (end == 0) return false;
  size_t p = PrevCharStart(text, end);
  return IsWordChar(NextCodePoint(text, &p));
}

bool StartsWithWord(std::string_view text, size_t begin) {
  if (begin >= text.size()) return false;
  return IsWordChar(NextCodePoint(text, &begin));
}

}  // namespace

void AddedTokenMatcher::Build(const std::vector<AddedToken>& tokens,
                              const std::vector<std::string>& patterns) {
  targets_.clear();
  edges_.clear();
  terminal_.assign(1, -1);
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& pattern = patterns[t];
    if (pattern.empty()) continue;
    const auto index = static_cast<int32_t>(targets_.size());
    targets_.push_back({tokens[t].id, tokens[t].lstrip, tokens[t].rstrip, tokens[t].single_word});
    first_byte_[static_cast<uint8_t>(pattern[0])] = true;
    int32_t node = 0;
    for (char c : pattern) {
      const uint32_t key = (static_cast<uint32_t>(node) << 8) | static_cast<uint8_t>(c);
      auto it = edges_.find(key);
      if (it == edges_.end()) {
        const auto child = static_cast<int32_t>(terminal_.size());
        terminal_.push_back(-1);
        it = edges_.emplace(key, child).first;
      }
      node = it->second;
    }
    if (terminal_[node] < 0) terminal_[node] = index;  // the first of equal patterns wins
  }
}

int32_t AddedTokenMatcher::LongestAt(std::string_view text, size_t pos, size_t* length) const {
  int32_t best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = edges_.find((static_cast<uint32_t>(node) << 8) | static_cast<uint8_t>(text[i]));
    if (it == edges_.end()) break;
    node = it->second;
    if (terminal_[node] >= 0) {
      best = terminal_[node];
      *length = i + 1 - pos;
    }
  }
  return best;
}

void AddedTokenMatcher::Split(std::string_view text, size_t base, std::vector<TextPiece>* out,
                              std::optional<char> literal_mark) const {
  size_t start_offset = 0;  // end of the last piece emitted
  size_t search = 0;        // where the next match may start
  while (!targets_.empty() && search < text.size()) {
    size_t pos = search;
    size_t length = 0;
    int32_t found = -1;
    for (; pos < text.size(); ++pos) {
      if (!first_byte_[static_cast<uint8_t>(text[pos])]) continue;
      found = LongestAt(text, pos, &length);
      if (found >= 0) break;
    }
    if (found < 0) break;
    const Target& target = targets_[found];
    size_t begin = pos, end = pos + length;
    search = end;
    if (literal_mark.has_value() && begin > 0 && text[begin - 1] == *literal_mark) continue;
    if (target.single_word && (EndsWithWord(text, begin) || StartsWithWord(text, end))) continue;
    if (target.lstrip) {
      size_t b = begin;
      while (b > 0) {
        size_t p = PrevCharStart(text, b), q = p;
        if (!IsWhiteSpace(NextCodePoint(text, &q))) break;
        b = p;
      }
      begin = std::max(b, start_offset);
    }
    if (target.rstrip) {
      while (end < text.size()) {
        size_t q = end;
        if (!IsWhiteSpace(NextCodePoint(text, &q))) break;
        end = q;
      }
      search = end;
    }
    if (start_offset < begin) out->push_back({base + start_offset, base + begin, -1});
    out->push_back({base + begin, base + end, target.id});
    start_offset = end;
  }
  if (start_offset < text.size() || text.empty()) {
    out->push_back({base + start_offset, base + text.size(), -1});
  }
}

absl::StatusOr<AddedVocabulary> AddedVocabulary::FromJson(const nlohmann::json& spec,
                                                          std::string_view path,
                                                          const BpeModel& model,
                                                          const Normalizer& normalizer) {
  AddedVocabulary vocab;
  if (spec.is_null()) {
    TPS_RETURN_IF_ERROR(vocab.BuildMatchers(normalizer));
    return vocab;
  }
  if (!spec.is_array())
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(path), ": expected an array"));
  int64_t max_added = -1;
  for (size_t i = 0; i < spec.size(); ++i) {
    const std::string item = absl::StrCat(ToAbsl(path), "[", i, "]");
    const nlohmann::json& t = spec[i];
    if (!t.is_object())
      return absl::InvalidArgumentError(absl::StrCat(item, ": expected an object"));
    AddedToken token;
    const nlohmann::json* id = FindField(t, "id");
    if (id == nullptr || !id->is_number_integer() || id->get<int64_t>() < 0 ||
        id->get<int64_t>() > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat(item, ".id: expected a non-negative integer"));
    }
    token.id = static_cast<int32_t>(id->get<int64_t>());
    TPS_ASSIGN_OR_RETURN(token.content, StringField(t, "content", item));
    TPS_RETURN_IF_ERROR(ValidateUtf8(token.content, JoinPath(item, "content")));
    TPS_ASSIGN_OR_RETURN(token.special, BoolField(t, "special", false, item));
    TPS_ASSIGN_OR_RETURN(token.normalized, BoolField(t, "normalized", !token.special, item));
    TPS_ASSIGN_OR_RETURN(token.lstrip, BoolField(t, "lstrip", false, item));
    TPS_ASSIGN_OR_RETURN(token.rstrip, BoolField(t, "rstrip", false, item));
    TPS_ASSIGN_OR_RETURN(token.single_word, BoolField(t, "single_word", false, item));
    if (token.content.empty()) continue;  // tokenizers ignores empty added tokens
    // The id tokenizers gives this token (AddedVocabulary::add_tokens).
    int64_t expected;
    if (auto it = vocab.by_content_.find(token.content); it != vocab.by_content_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(item, ".content: \"", token.content, "\" is listed twice"));
    } else if (std::optional<int32_t> in_model = model.TokenToId(token.content);
               in_model.has_value()) {
      expected = *in_model;
    } else if (max_added < 0) {
      expected = model.vocab_entries();
    } else {
      expected = max_added >= model.vocab_entries() ? max_added + 1 : model.vocab_entries();
    }
    if (expected != token.id) {
      return absl::InvalidArgumentError(absl::StrCat(
          item, ": \"", token.content, "\" has id ", token.id,
          " but Hugging Face tokenizers would give it id ", expected,
          " (an added token takes its model.vocab id, or the next id after the vocabulary)"));
    }
    max_added = std::max<int64_t>(max_added, token.id);
    if (vocab.by_id_.contains(token.id)) {
      return absl::InvalidArgumentError(absl::StrCat(item, ".id: ", token.id, " is used twice"));
    }
    vocab.by_id_.emplace(token.id, vocab.tokens_.size());
    vocab.by_content_.emplace(token.content, token.id);
    vocab.tokens_.push_back(std::move(token));
  }
  TPS_RETURN_IF_ERROR(vocab.BuildMatchers(normalizer));
  return vocab;
}

absl::Status AddedVocabulary::BuildMatchers(const Normalizer& normalizer) {
  std::vector<AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (const AddedToken& t : tokens_) {
    if (t.normalized) {
      std::string pattern;
      TPS_RETURN_IF_ERROR(normalizer.Normalize(t.content, &pattern));
      normalized.push_back(t);
      normalized_patterns.push_back(std::move(pattern));
    } else {
      raw.push_back(t);
      raw_patterns.push_back(t.content);
    }
  }
  raw_matcher_.Build(raw, raw_patterns);
  normalized_matcher_.Build(normalized, normalized_patterns);
  return absl::OkStatus();
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::TokenToId(std::string_view content) const {
  auto it = by_content_.find(ToAbsl(content));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

}  // namespace tpserve::tokenizer
