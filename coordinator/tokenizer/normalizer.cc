#include "coordinator/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/absl_compat.h"
#include "coordinator/tokenizer/json_fields.h"
#include "coordinator/tokenizer/utf8.h"
#include "ops/base/status_macros.h"

namespace tpserve::tokenizer {
namespace {

// Code points that NFC leaves alone in any context: they have canonical combining class 0, are
// their own NFC form, and never combine with a neighbour. A string made only of these is NFC.
// Kept to a few well-known blocks; everything else goes through utf8proc.
bool IsNfcInert(char32_t cp) {
  return cp < 0x300 ||                      // ASCII, Latin-1, Latin Extended-A/B, IPA
         (cp >= 0x3041 && cp <= 0x3096) ||  // Hiragana letters (not U+3099/U+309A)
         (cp >= 0x30A1 && cp <= 0x30FA) ||  // Katakana letters
         (cp >= 0x4E00 && cp <= 0x9FFF) ||  // CJK Unified Ideographs
         (cp >= 0x3000 && cp <= 0x303F && cp != 0x302A && cp != 0x302B && cp != 0x302C &&
          cp != 0x302D && cp != 0x302E && cp != 0x302F) ||  // CJK punctuation, not the tone marks
         (cp >= 0xAC00 && cp <= 0xD7A3) ||  // Hangul syllables (a following jamo is not inert)
         (cp >= 0xFF01 && cp <= 0xFF5E);    // fullwidth ASCII
}

bool IsNfcQuick(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    if (!IsNfcInert(NextCodePoint(text, &pos))) return false;
  }
  return true;
}

absl::Status ParseInto(const nlohmann::json& spec, std::string_view path, bool* nfc) {
  if (spec.is_null()) return absl::OkStatus();
  if (!spec.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(path), ": expected an object or null"));
  }
  TPS_ASSIGN_OR_RETURN(std::string type, StringField(spec, "type", path));
  if (type == "NFC") {
    *nfc = true;
    return absl::OkStatus();
  }
  if (type == "Sequence") {
    TPS_ASSIGN_OR_RETURN(const nlohmann::json* members, ArrayField(spec, "normalizers", path));
    for (size_t i = 0; i < members->size(); ++i) {
      TPS_RETURN_IF_ERROR(
          ParseInto((*members)[i], absl::StrCat(JoinPath(path, "normalizers"), "[", i, "]"), nfc));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(JoinPath(path, "type"), ": normalizer '", type,
                   "' is not supported (supported: NFC, and Sequence of supported normalizers)"));
}

}  // namespace

absl::StatusOr<Normalizer> Normalizer::FromJson(const nlohmann::json& spec, std::string_view path) {
  Normalizer n;
  TPS_RETURN_IF_ERROR(ParseInto(spec, path, &n.nfc_));
  return n;
}

absl::Status Normalizer::Normalize(std::string_view text, std::string* out) const {
  if (!nfc_) {
    out->append(text);
    return absl::OkStatus();
  }
  return AppendNfc(text, out);
}

absl::Status AppendNfc(std::string_view text, std::string* out) {
  if (IsNfcQuick(text)) {
    out->append(text);
    return absl::OkStatus();
  }
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {
    return absl::InternalError(absl::StrCat("NFC normalization failed: ", utf8proc_errmsg(n)));
  }
  out->append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return absl::OkStatus();
}

}  // namespace tpserve::tokenizer
