#include "vision/image_decode.h"

#include "ops/base/status_macros.h"
#include "vision/image_header.h"
#include "vision/internal/decoders.h"

namespace tpserve::vision {
namespace {

// PIL's alpha_composite of a straight-alpha pixel over opaque white (AlphaComposite.c with
// dst = (255, 255, 255, 255)): 7 extra bits of precision, rounded division by 255.
uint8_t OverWhite(unsigned c, unsigned a) {
  if (a == 0) return 255;
  const unsigned tmp = c * a * 128 + 255 * (255 - a) * 128 + (0x80 << 7);
  return static_cast<uint8_t>(((tmp >> 8) + tmp) >> 8 >> 7);
}

}  // namespace

absl::StatusOr<RgbImage> DecodeImage(std::string_view bytes, const ImageLimits& limits) {
  TPS_ASSIGN_OR_RETURN(ImageHeader header, ReadImageHeader(bytes));
  TPS_RETURN_IF_ERROR(CheckImageLimits(header, bytes.size(), limits));
  internal::DecodedPixels d;
  switch (header.format) {
    case ImageFormat::kPng: {
      TPS_ASSIGN_OR_RETURN(d, internal::DecodePng(bytes, header));
      break;
    }
    case ImageFormat::kJpeg: {
      TPS_ASSIGN_OR_RETURN(d, internal::DecodeJpeg(bytes, header));
      break;
    }
    case ImageFormat::kWebp: {
      TPS_ASSIGN_OR_RETURN(d, internal::DecodeWebp(bytes, header));
      break;
    }
  }
  RgbImage out;
  out.width = d.width;
  out.height = d.height;
  if (d.channels == 3) {
    out.pixels = std::move(d.pixels);
    return out;
  }
  const size_t n = static_cast<size_t>(d.width * d.height);
  out.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const unsigned a = d.pixels[4 * i + 3];
    for (size_t c = 0; c < 3; ++c) out.pixels[3 * i + c] = OverWhite(d.pixels[4 * i + c], a);
  }
  return out;
}

}  // namespace tpserve::vision
