// Reads an encoded image's format and size from its header alone (PNG IHDR, JPEG SOFn, WebP
// VP8 / VP8L / VP8X), never touching the pixel data: cheap enough for the coordinator to count
// image tokens and to refuse a decompression bomb before anyone decodes it. No device code.
//
//   ASSIGN_OR_RETURN(ImageHeader h, ReadImageHeader(bytes));   // h.width, h.height
//
// Every malformed or truncated header is InvalidArgument naming the format and what is wrong.
#ifndef TPSERVE_VISION_IMAGE_HEADER_H_
#define TPSERVE_VISION_IMAGE_HEADER_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace tpserve::vision {

enum class ImageFormat : uint8_t { kPng, kJpeg, kWebp };

// "PNG", "JPEG", "WebP".
std::string_view ImageFormatName(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::kPng;
  int64_t width = 0;   // pixels
  int64_t height = 0;  // pixels
  // An animated WebP (VP8X animation flag). An APNG is read as its default image, like PIL does.
  bool animated = false;
};

// The format from the magic bytes and the size from the header. Bytes after the header are not
// read, so a file truncated inside its pixel data still parses here (decoding then fails).
absl::StatusOr<ImageHeader> ReadImageHeader(std::string_view bytes);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_IMAGE_HEADER_H_
