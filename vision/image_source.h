// Where a request's image comes from: its bytes, or a `data:` URI carrying them in base64. Every
// other reference (http://, https://, file://, a bare path, any scheme) is refused: tpserve never
// fetches or opens anything on a client's behalf. No device code.
#ifndef TPSERVE_VISION_IMAGE_SOURCE_H_
#define TPSERVE_VISION_IMAGE_SOURCE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpserve::vision {

// True when `text` starts with "data:" (case-insensitive).
bool IsDataUri(std::string_view text);

// Decodes `data:[<media type>][;charset=...];base64,<payload>`. The media type, when given, must be
// image/png, image/jpeg (image/jpg) or image/webp; the payload must be base64 (whitespace inside it
// is ignored). `max_bytes` bounds the decoded size, checked before decoding. InvalidArgument names
// what is wrong.
absl::StatusOr<std::string> DecodeDataUri(std::string_view uri, size_t max_bytes);

// The image bytes of a URL-form reference: a data: URI is decoded; http(s)://, file:// and any
// other scheme or path are refused with InvalidArgument saying that remote and local URLs are not
// fetched.
absl::StatusOr<std::string> ImageBytesFromUrl(std::string_view url, size_t max_bytes);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_IMAGE_SOURCE_H_
