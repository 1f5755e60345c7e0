#include "vision/image_source.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tpserve::vision {
namespace {

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  return s.size() <= kMax ? std::string(s) : absl::StrCat(Absl(s.substr(0, kMax)), "...");
}

}  // namespace

bool IsDataUri(std::string_view text) { return absl::StartsWithIgnoreCase(Absl(text), "data:"); }

absl::StatusOr<std::string> DecodeDataUri(std::string_view uri, size_t max_bytes) {
  if (!IsDataUri(uri)) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: '", Excerpt(uri), "' is not a data: URI"));
  }
  const size_t comma = uri.find(',');
  if (comma == std::string_view::npos) {
    return absl::InvalidArgumentError("image: data: URI has no ',' before its payload");
  }
  const std::string meta = absl::AsciiStrToLower(Absl(uri.substr(5, comma - 5)));
  if (!absl::EndsWith(meta, ";base64")) {
    return absl::InvalidArgumentError(
        "image: data: URI must be base64-encoded (data:image/png;base64,...)");
  }
  const absl::string_view media = absl::string_view(meta).substr(0, meta.find(';'));
  if (!media.empty() && media != "image/png" && media != "image/jpeg" && media != "image/jpg" &&
      media != "image/webp") {
    return absl::InvalidArgumentError(
        absl::StrCat("image: data: URI media type '", media,
                     "' (expected image/png, image/jpeg or image/webp)"));
  }
  const std::string_view payload = uri.substr(comma + 1);
  // Base64 carries 3 bytes per 4 characters: refuse an oversized payload before decoding it.
  if (payload.size() / 4 * 3 > max_bytes + 3) {
    return absl::InvalidArgumentError(absl::StrCat("image: data: URI payload decodes to about ",
                                                   payload.size() / 4 * 3,
                                                   " bytes, above the limit of ", max_bytes));
  }
  std::string compact;
  compact.reserve(payload.size());
  for (char c : payload) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  std::string bytes;
  if (!absl::Base64Unescape(compact, &bytes)) {
    return absl::InvalidArgumentError("image: data: URI payload is not valid base64");
  }
  if (bytes.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: ", bytes.size(), " bytes, above the limit of ", max_bytes));
  }
  if (bytes.empty()) return absl::InvalidArgumentError("image: data: URI has an empty payload");
  return bytes;
}

absl::StatusOr<std::string> ImageBytesFromUrl(std::string_view url, size_t max_bytes) {
  if (IsDataUri(url)) return DecodeDataUri(url, max_bytes);
  const absl::string_view u = Absl(url);
  if (absl::StartsWithIgnoreCase(u, "http://") || absl::StartsWithIgnoreCase(u, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: remote URL '", Excerpt(url),
                     "' refused: images are never fetched; send the bytes or a data: URI"));
  }
  if (absl::StartsWithIgnoreCase(u, "file:")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image: file URL '", Excerpt(url),
        "' refused: the server never opens local files; send the bytes or a data: URI"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("image: '", Excerpt(url),
                   "' is not a data: URI; only image bytes or data: URIs are accepted"));
}

}  // namespace tpserve::vision
