#include "coordinator/tokenizer/pcre2_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/absl_compat.h"

namespace tpserve::tokenizer {
namespace {

// Unicode White_Space (the code points Oniguruma's \s matches), as a character-class body.
constexpr char kWhiteSpaceBody[] =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

pcre2_code* Code(void* p) { return static_cast<pcre2_code*>(p); }

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof(buf)) < 0)
    return absl::StrCat("PCRE2 error ", code);
  return std::string(reinterpret_cast<const char*>(buf));
}

// Per-thread match state: a one-pair match data block and a JIT stack large enough for long
// runs of one character class.
struct ThreadMatchState {
  pcre2_match_data* match_data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;

  ThreadMatchState() {
    match_data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    if (context != nullptr && jit_stack != nullptr) {
      pcre2_jit_stack_assign(context, nullptr, jit_stack);
    }
  }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(match_data);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;
};

ThreadMatchState& GetThreadMatchState() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

absl::StatusOr<std::string> TranslateOnigPattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) {
        return absl::InvalidArgumentError("pattern ends with a lone backslash");
      }
      const char n = pattern[++i];
      if (n == 's') {
        out += in_class ? kWhiteSpaceBody : absl::StrCat("[", kWhiteSpaceBody, "]");
      } else if (n == 'S') {
        if (in_class) {
          return absl::InvalidArgumentError(
              absl::StrCat("\\S inside a character class (offset ", i - 1, ") is not supported"));
        }
        out += absl::StrCat("[^", kWhiteSpaceBody, "]");
      } else if (n == 'Q') {
        return absl::InvalidArgumentError(
            absl::StrCat("\\Q...\\E quoting (offset ", i - 1, ") is not supported"));
      } else {
        out += c;
        out += n;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == '[') {
      if (i + 1 < pattern.size() && pattern[i + 1] == ':') {  // POSIX class [:name:]
        const size_t close = pattern.find(":]", i + 2);
        if (close == std::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrCat("unterminated [: at offset ", i));
        }
        out.append(pattern.substr(i, close + 2 - i));
        i = close + 1;
        continue;
      }
      return absl::InvalidArgumentError(absl::StrCat("nested character class at offset ", i,
                                                     " (Oniguruma set syntax) is not supported"));
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Pcre2Regex>> Pcre2Regex::Compile(std::string_view pattern,
                                                                bool literal) {
  std::string translated;
  if (literal) {
    translated = std::string(pattern);
  } else {
    auto t = TranslateOnigPattern(pattern);
    if (!t.ok()) return t.status();
    translated = *std::move(t);
  }
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (literal) options |= PCRE2_LITERAL;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()),
                                   translated.size(), options, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("regex does not compile at offset ",
                                                   error_offset, ": ", Pcre2Message(error_code)));
  }
  std::unique_ptr<Pcre2Regex> regex(new Pcre2Regex());
  regex->code_ = code;
  regex->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return regex;
}

Pcre2Regex::~Pcre2Regex() { pcre2_code_free(Code(code_)); }

absl::Status Pcre2Regex::FindAll(std::string_view subject, std::vector<MatchSpan>* matches) const {
  ThreadMatchState& state = GetThreadMatchState();
  if (state.match_data == nullptr || state.context == nullptr) {
    return absl::ResourceExhaustedError("out of memory for regex match data");
  }
  const auto* data = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t start = 0;
  while (start <= subject.size()) {
    const int rc = jit_ ? pcre2_jit_match(Code(code_), data, subject.size(), start, 0,
                                          state.match_data, state.context)
                        : pcre2_match(Code(code_), data, subject.size(), start, PCRE2_NO_UTF_CHECK,
                                      state.match_data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return absl::ResourceExhaustedError(absl::StrCat("pre-tokenizer regex failed at byte offset ",
                                                       start, ": ", Pcre2Message(rc)));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.match_data);
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches->push_back({begin, end});
      start = end;
    } else {
      // Empty match: step over one character.
      if (begin >= subject.size()) break;
      size_t next = begin + 1;
      while (next < subject.size() && (static_cast<unsigned char>(subject[next]) & 0xC0) == 0x80)
        ++next;
      start = next;
    }
  }
  return absl::OkStatus();
}

}  // namespace tpserve::tokenizer
