#include "coordinator/tokenizer/pretokenizer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/absl_compat.h"
#include "coordinator/tokenizer/json_fields.h"
#include "ops/base/status_macros.h"

namespace tpserve::tokenizer {
namespace {

// The regex GPT-2 (and Hugging Face's ByteLevel pre-tokenizer with use_regex=true) splits with.
constexpr char kGpt2Pattern[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct ParseState {
  std::vector<std::shared_ptr<const Pcre2Regex>> regexes;
  bool byte_level = false;
};

absl::Status ParseSplit(const nlohmann::json& spec, std::string_view path, ParseState* state) {
  TPS_ASSIGN_OR_RETURN(std::string behavior, StringField(spec, "behavior", path));
  if (behavior != "Isolated") {
    return absl::InvalidArgumentError(absl::StrCat(JoinPath(path, "behavior"), ": '", behavior,
                                                   "' is not supported (supported: Isolated)"));
  }
  TPS_ASSIGN_OR_RETURN(bool invert, BoolField(spec, "invert", false, path));
  if (invert) {
    return absl::InvalidArgumentError(
        absl::StrCat(JoinPath(path, "invert"), ": true is not supported (expected false)"));
  }
  TPS_ASSIGN_OR_RETURN(const nlohmann::json* pattern, ObjectField(spec, "pattern", path));
  const std::string pattern_path = JoinPath(path, "pattern");
  std::string text;
  bool literal;
  if (const nlohmann::json* re = FindField(*pattern, "Regex"); re != nullptr && re->is_string()) {
    text = re->get<std::string>();
    literal = false;
  } else if (const nlohmann::json* s = FindField(*pattern, "String");
             s != nullptr && s->is_string()) {
    text = s->get<std::string>();
    literal = true;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(pattern_path, ": expected {\"Regex\": \"...\"} or {\"String\": \"...\"}"));
  }
  auto regex = Pcre2Regex::Compile(text, literal);
  if (!regex.ok()) return Annotate(regex.status(), pattern_path);
  state->regexes.push_back(*std::move(regex));
  return absl::OkStatus();
}

absl::Status ParseByteLevel(const nlohmann::json& spec, std::string_view path, ParseState* state) {
  TPS_ASSIGN_OR_RETURN(bool add_prefix_space, BoolField(spec, "add_prefix_space", true, path));
  if (add_prefix_space) {
    return absl::InvalidArgumentError(absl::StrCat(JoinPath(path, "add_prefix_space"),
                                                   ": true is not supported (expected false)"));
  }
  TPS_ASSIGN_OR_RETURN(bool use_regex, BoolField(spec, "use_regex", true, path));
  if (use_regex) {
    auto regex = Pcre2Regex::Compile(kGpt2Pattern, /*literal=*/false);
    if (!regex.ok()) return Annotate(regex.status(), path);
    state->regexes.push_back(*std::move(regex));
  }
  state->byte_level = true;
  return absl::OkStatus();
}

absl::Status ParseInto(const nlohmann::json& spec, std::string_view path, ParseState* state) {
  if (!spec.is_object())
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(path), ": expected an object"));
  TPS_ASSIGN_OR_RETURN(std::string type, StringField(spec, "type", path));
  if (type == "Split") return ParseSplit(spec, path, state);
  if (type == "ByteLevel") return ParseByteLevel(spec, path, state);
  if (type == "Sequence") {
    TPS_ASSIGN_OR_RETURN(const nlohmann::json* members, ArrayField(spec, "pretokenizers", path));
    for (size_t i = 0; i < members->size(); ++i) {
      TPS_RETURN_IF_ERROR(ParseInto(
          (*members)[i], absl::StrCat(JoinPath(path, "pretokenizers"), "[", i, "]"), state));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(JoinPath(path, "type"), ": pre-tokenizer '", type,
                   "' is not supported (supported: Split, ByteLevel, Sequence)"));
}

// Splits each span of `pieces` with `regex`, Isolated: every match and every gap between matches
// is its own piece.
absl::Status SplitIsolated(const Pcre2Regex& regex, std::string_view text,
                           const std::vector<MatchSpan>& pieces, std::vector<MatchSpan>* out) {
  std::vector<MatchSpan> matches;
  for (const MatchSpan& piece : pieces) {
    matches.clear();
    const std::string_view sub = text.substr(piece.begin, piece.end - piece.begin);
    TPS_RETURN_IF_ERROR(regex.FindAll(sub, &matches));
    size_t prev = 0;
    for (const MatchSpan& m : matches) {
      if (m.begin > prev) out->push_back({piece.begin + prev, piece.begin + m.begin});
      out->push_back({piece.begin + m.begin, piece.begin + m.end});
      prev = m.end;
    }
    if (prev < sub.size()) out->push_back({piece.begin + prev, piece.end});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PreTokenizer> PreTokenizer::FromJson(const nlohmann::json& spec,
                                                    std::string_view path) {
  ParseState state;
  if (!spec.is_null()) TPS_RETURN_IF_ERROR(ParseInto(spec, path, &state));
  if (!state.byte_level) {
    return absl::InvalidArgumentError(absl::StrCat(
        ToAbsl(path),
        ": no ByteLevel pre-tokenizer (only byte-level BPE vocabularies are supported)"));
  }
  PreTokenizer p;
  p.regexes_ = std::move(state.regexes);
  return p;
}

absl::Status PreTokenizer::Split(std::string_view text, std::vector<MatchSpan>* words) const {
  if (text.empty()) return absl::OkStatus();
  if (regexes_.empty()) {
    words->push_back({0, text.size()});
    return absl::OkStatus();
  }
  std::vector<MatchSpan> current = {{0, text.size()}};
  for (size_t i = 0; i < regexes_.size(); ++i) {
    std::vector<MatchSpan>* target = i + 1 == regexes_.size() ? words : nullptr;
    std::vector<MatchSpan> next;
    TPS_RETURN_IF_ERROR(SplitIsolated(*regexes_[i], text, current, target ? target : &next));
    if (target == nullptr) current = std::move(next);
  }
  return absl::OkStatus();
}

}  // namespace tpserve::tokenizer
