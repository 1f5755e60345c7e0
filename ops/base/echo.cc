#include "ops/base/echo.h"

#include "absl/strings/str_cat.h"

namespace tpserve {
namespace {

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The longest prefix of `value` of at most `max_bytes` that does not end inside a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return value;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return value.substr(0, cut);
}

}  // namespace

std::string EchoPrefix(std::string_view value) {
  if (value.size() <= kMaxEchoedValueBytes) return std::string(value);
  return absl::StrCat(Absl(Utf8Prefix(value, kMaxEchoedValueBytes)), "...");
}

std::string EchoValue(std::string_view value) {
  if (value.size() <= kMaxEchoedValueBytes) return absl::StrCat("'", Absl(value), "'");
  return absl::StrCat("'", EchoPrefix(value), "' (", value.size(), " bytes)");
}

std::string CapMessage(std::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  // Room for the suffix: " ... [" + up to 20 digits + " bytes cut]".
  constexpr size_t kSuffix = 6 + 20 + 11;
  const size_t keep = max_bytes > kSuffix ? max_bytes - kSuffix : 0;
  const std::string_view head = Utf8Prefix(message, keep);
  return absl::StrCat(Absl(head), " ... [", message.size() - head.size(), " bytes cut]");
}

}  // namespace tpserve
