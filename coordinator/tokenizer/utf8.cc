#include "coordinator/tokenizer/utf8.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/tokenizer/absl_compat.h"

namespace tpserve::tokenizer {
namespace {

enum class SeqKind : uint8_t { kValid, kInvalid, kIncomplete };

struct Seq {
  SeqKind kind;
  size_t length;  // kValid: bytes of the character; kInvalid / kIncomplete: maximal subpart
};

// Classifies the sequence starting at s[i] (Unicode Table 3-7, well-formed byte sequences).
Seq Inspect(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) return {SeqKind::kValid, 1};
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {SeqKind::kInvalid, 1};
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return {SeqKind::kIncomplete, k};
    const auto b = static_cast<uint8_t>(s[i + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {SeqKind::kInvalid, k};
  }
  return {SeqKind::kValid, need};
}

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

absl::Status ValidateUtf8(std::string_view text, std::string_view what_name) {
  size_t i = 0;
  while (i < text.size()) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= text.size()) {
      uint64_t w;
      __builtin_memcpy(&w, text.data() + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= text.size()) break;
    const Seq seq = Inspect(text, i);
    if (seq.kind == SeqKind::kValid) {
      i += seq.length;
      continue;
    }
    const auto b = static_cast<uint8_t>(text[i]);
    std::string what;
    if (seq.kind == SeqKind::kIncomplete) {
      what = absl::StrFormat("sequence starting with 0x%02X is cut off by the end of the text", b);
    } else if (b >= 0x80 && b <= 0xBF) {
      what = absl::StrFormat("unexpected continuation byte 0x%02X", b);
    } else if (b == 0xC0 || b == 0xC1 || b >= 0xF5) {
      what = absl::StrFormat("byte 0x%02X never appears in UTF-8", b);
    } else {
      what = absl::StrFormat(
          "byte 0x%02X at offset %d does not continue the sequence starting with 0x%02X "
          "(or the sequence is overlong, a surrogate or above U+10FFFF)",
          static_cast<uint8_t>(text[i + seq.length]), i + seq.length, b);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(what_name.empty() ? "" : absl::StrCat(std::string(what_name), ": "),
                     "invalid UTF-8 at byte offset ", i, ": ", what));
  }
  return absl::OkStatus();
}

std::string LossyUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const Seq seq = Inspect(bytes, i);
    if (seq.kind == SeqKind::kValid) {
      out.append(bytes.data() + i, seq.length);
    } else {
      out.append(kReplacement);
    }
    i += seq.length;
  }
  return out;
}

size_t IncompleteUtf8Suffix(std::string_view bytes) {
  // A sequence is at most 4 bytes, so only the last 3 bytes can start an incomplete one.
  const size_t start = bytes.size() > 3 ? bytes.size() - 3 : 0;
  for (size_t i = start; i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    if (b >= 0x80 && b <= 0xBF) continue;  // a continuation byte cannot start a sequence
    const Seq seq = Inspect(bytes, i);
    if (seq.kind == SeqKind::kIncomplete) return bytes.size() - i;
  }
  return 0;
}

char32_t NextCodePoint(std::string_view text, size_t* pos) {
  const auto b0 = static_cast<uint8_t>(text[*pos]);
  if (b0 < 0x80) {
    ++*pos;
    return b0;
  }
  int n;
  char32_t cp;
  // Callers pass well-formed UTF-8, but a byte that cannot lead a sequence (a continuation byte,
  // 0xF8-0xFF such as Tokenizer::kLiteralMark) or a sequence cut by the end of `text` must not be
  // read past: it is one U+FFFD.
  if (b0 < 0xC0 || b0 >= 0xF8) {
    ++*pos;
    return 0xFFFD;
  }
  if (b0 < 0xE0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if (b0 < 0xF0) {
    n = 3;
    cp = b0 & 0x0F;
  } else {
    n = 4;
    cp = b0 & 0x07;
  }
  if (*pos + static_cast<size_t>(n) > text.size()) {
    ++*pos;
    return 0xFFFD;
  }
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(text[*pos + k]) & 0x3F);
  *pos += n;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace tpserve::tokenizer
