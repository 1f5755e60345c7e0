// The normalizer stage of tokenizer.json. Supported: none (null), "NFC", and a "Sequence" whose
// members are supported normalizers. NFC comes from libutf8proc; anything else fails closed at
// load time, since a silently skipped normalizer would change every id after it.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_NORMALIZER_H_
#define TPSERVE_COORDINATOR_TOKENIZER_NORMALIZER_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

class Normalizer {
 public:
  Normalizer() = default;  // the identity

  // `spec` is the "normalizer" value of tokenizer.json (null allowed); `path` names it in errors.
  static absl::StatusOr<Normalizer> FromJson(const nlohmann::json& spec, std::string_view path);

  bool is_identity() const { return !nfc_; }

  // Appends the normalized form of `text` (well-formed UTF-8) to `out`.
  absl::Status Normalize(std::string_view text, std::string* out) const;

 private:
  bool nfc_ = false;
};

// NFC of well-formed UTF-8 `text`, appended to `out` (utf8proc; a quick check skips text that is
// NFC already).
absl::Status AppendNfc(std::string_view text, std::string* out);

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_NORMALIZER_H_
