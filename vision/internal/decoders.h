// Internal: one decoder per format behind DecodeImage (image_decode.h), each over Debian's library
// for it (libpng, libjpeg-turbo, libwebp). A decoder returns the image as 8-bit RGB, or RGBA when
// the file carries transparency (an alpha channel, a tRNS chunk), with the channel conversions PIL
// makes when it opens the file (16-bit samples keep their high byte, except 16-bit grayscale
// without alpha, which PIL's I;16 -> RGB conversion clips to 255; 1/2/4-bit samples are scaled
// to 0..255; CMYK uses PIL's formula). Every library error or warning about corrupt or truncated
// data is InvalidArgument; nothing longjmps past a C++ frame with live destructors.
#ifndef TPSERVE_VISION_INTERNAL_DECODERS_H_
#define TPSERVE_VISION_INTERNAL_DECODERS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "vision/image_header.h"

namespace tpserve::vision::internal {

struct DecodedPixels {
  int64_t width = 0;
  int64_t height = 0;
  int channels = 3;             // 3 (RGB) or 4 (RGBA, straight alpha)
  std::vector<uint8_t> pixels;  // [height, width, channels]
};

absl::StatusOr<DecodedPixels> DecodePng(std::string_view bytes, const ImageHeader& header);
absl::StatusOr<DecodedPixels> DecodeJpeg(std::string_view bytes, const ImageHeader& header);
absl::StatusOr<DecodedPixels> DecodeWebp(std::string_view bytes, const ImageHeader& header);

}  // namespace tpserve::vision::internal

#endif  // TPSERVE_VISION_INTERNAL_DECODERS_H_
