#include "vision/image_header.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace tpserve::vision {
namespace {

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Le16(const unsigned char* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8); }
uint32_t Le24(const unsigned char* p) { return Le16(p) | (uint32_t{p[2]} << 16); }
uint32_t Le32(const unsigned char* p) { return Le24(p) | (uint32_t{p[3]} << 24); }

absl::Status Bad(std::string_view format, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("image: corrupt ", std::string(format), " header: ", std::string(what)));
}

absl::StatusOr<ImageHeader> ReadPng(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  // Signature (8), IHDR length (4) + type (4) + 13 data bytes.
  if (s.size() < 8 + 8 + 13) return Bad("PNG", "truncated before the end of IHDR");
  if (Be32(p + 8) != 13 || std::string_view(s.data() + 12, 4) != "IHDR") {
    return Bad("PNG", "the first chunk is not a 13-byte IHDR");
  }
  ImageHeader h;
  h.format = ImageFormat::kPng;
  h.width = Be32(p + 16);
  h.height = Be32(p + 20);
  const int depth = p[24], color = p[25];
  if (h.width == 0 || h.height == 0 || h.width > 0x7fffffff || h.height > 0x7fffffff) {
    return Bad("PNG", absl::StrCat("size ", h.width, "x", h.height, " is invalid"));
  }
  const bool depth_ok =
      (color == 0 && (depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16)) ||
      (color == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
      ((color == 2 || color == 4 || color == 6) && (depth == 8 || depth == 16));
  if (!depth_ok) {
    return Bad("PNG", absl::StrCat("bit depth ", depth, " with color type ", color));
  }
  if (p[26] != 0 || p[27] != 0 || p[28] > 1) {
    return Bad("PNG", "unknown compression, filter or interlace method");
  }
  return h;
}

bool IsSofMarker(int m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

absl::StatusOr<ImageHeader> ReadJpeg(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t at = 2;  // after SOI
  while (true) {
    if (at >= s.size()) return Bad("JPEG", "no frame header (SOF) before the end of the data");
    if (p[at] != 0xFF) return Bad("JPEG", absl::StrCat("expected a marker at byte ", at));
    while (at < s.size() && p[at] == 0xFF) ++at;  // fill bytes
    if (at >= s.size()) return Bad("JPEG", "truncated inside a marker");
    const int marker = p[at++];
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9 || marker == 0xDA) {
      return Bad("JPEG", "no frame header (SOF) before the scan data");
    }
    if (at + 2 > s.size()) return Bad("JPEG", "truncated inside a segment length");
    const uint32_t len = Be16(p + at);
    if (len < 2) return Bad("JPEG", absl::StrCat("segment length ", len, " at byte ", at));
    if (IsSofMarker(marker)) {
      if (len < 8 || at + 8 > s.size()) return Bad("JPEG", "truncated frame header");
      ImageHeader h;
      h.format = ImageFormat::kJpeg;
      h.height = Be16(p + at + 3);
      h.width = Be16(p + at + 5);
      const int components = p[at + 7];
      if (h.width == 0 || h.height == 0) {
        return Bad("JPEG", absl::StrCat("size ", h.width, "x", h.height,
                                        " (a zero height defined later by DNL is not supported)"));
      }
      if (components != 1 && components != 3 && components != 4) {
        return Bad("JPEG", absl::StrCat(components, " color components"));
      }
      return h;
    }
    at += len;
  }
}

absl::StatusOr<ImageHeader> ReadWebp(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  if (s.size() < 12 + 8) return Bad("WebP", "truncated before the first chunk");
  const std::string_view fourcc(s.data() + 12, 4);
  const uint32_t chunk = Le32(p + 16);
  const unsigned char* d = p + 20;
  const size_t avail = s.size() - 20;
  ImageHeader h;
  h.format = ImageFormat::kWebp;
  if (fourcc == "VP8 ") {
    if (chunk < 10 || avail < 10) return Bad("WebP", "truncated VP8 frame header");
    if (d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a) return Bad("WebP", "bad VP8 start code");
    h.width = Le16(d + 6) & 0x3fff;
    h.height = Le16(d + 8) & 0x3fff;
  } else if (fourcc == "VP8L") {
    if (chunk < 5 || avail < 5) return Bad("WebP", "truncated VP8L header");
    if (d[0] != 0x2f) return Bad("WebP", "bad VP8L signature");
    const uint32_t bits = Le32(d + 1);
    h.width = (bits & 0x3fff) + 1;
    h.height = ((bits >> 14) & 0x3fff) + 1;
  } else if (fourcc == "VP8X") {
    if (chunk < 10 || avail < 10) return Bad("WebP", "truncated VP8X header");
    h.animated = (d[0] & 0x02) != 0;
    h.width = int64_t{Le24(d + 4)} + 1;
    h.height = int64_t{Le24(d + 7)} + 1;
  } else {
    return Bad("WebP", absl::StrCat("unknown first chunk '", std::string(fourcc), "'"));
  }
  if (h.width == 0 || h.height == 0) {
    return Bad("WebP", absl::StrCat("size ", h.width, "x", h.height, " is invalid"));
  }
  return h;
}

}  // namespace

std::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kWebp:
      return "WebP";
  }
  return "?";
}

absl::StatusOr<ImageHeader> ReadImageHeader(std::string_view s) {
  if (s.size() >= 8 && s.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return ReadPng(s);
  }
  if (s.size() >= 3 && static_cast<unsigned char>(s[0]) == 0xFF &&
      static_cast<unsigned char>(s[1]) == 0xD8 && static_cast<unsigned char>(s[2]) == 0xFF) {
    return ReadJpeg(s);
  }
  if (s.size() >= 12 && s.substr(0, 4) == "RIFF" && s.substr(8, 4) == "WEBP") return ReadWebp(s);
  if (s.empty()) return absl::InvalidArgumentError("image: no bytes");
  return absl::InvalidArgumentError(
      "image: unsupported format (expected PNG, JPEG or WebP; the first bytes match none)");
}

}  // namespace tpserve::vision
