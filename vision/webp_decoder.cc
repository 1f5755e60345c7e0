// WebP through libwebp's decode API (fancy upsampling, the default, as Pillow's decoder uses).
// Files with alpha decode to RGBA; animated files were refused from the header already.
#include <webp/decode.h>

#include "absl/strings/str_cat.h"
#include "vision/internal/decoders.h"

namespace tpserve::vision::internal {

absl::StatusOr<DecodedPixels> DecodeWebp(std::string_view bytes, const ImageHeader& header) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures features;
  const VP8StatusCode status = WebPGetFeatures(data, bytes.size(), &features);
  if (status != VP8_STATUS_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: corrupt WebP: cannot read its features (libwebp status ",
                     static_cast<int>(status), ")"));
  }
  if (features.has_animation) {
    return absl::InvalidArgumentError("image: animated WebP is not supported (send one frame)");
  }
  if (features.width != header.width || features.height != header.height) {
    return absl::InvalidArgumentError("image: corrupt WebP: size differs from the header's");
  }
  DecodedPixels out;
  out.width = features.width;
  out.height = features.height;
  out.channels = features.has_alpha ? 4 : 3;
  const size_t stride = static_cast<size_t>(out.width) * static_cast<size_t>(out.channels);
  out.pixels.resize(stride * static_cast<size_t>(out.height));
  const uint8_t* ok = features.has_alpha
                          ? WebPDecodeRGBAInto(data, bytes.size(), out.pixels.data(),
                                               out.pixels.size(), static_cast<int>(stride))
                          : WebPDecodeRGBInto(data, bytes.size(), out.pixels.data(),
                                              out.pixels.size(), static_cast<int>(stride));
  if (ok == nullptr) {
    return absl::InvalidArgumentError("image: corrupt or truncated WebP data");
  }
  return out;
}

}  // namespace tpserve::vision::internal
