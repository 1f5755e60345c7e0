// PNG through libpng's full API (the simplified API would apply gamma and sRGB conversions PIL
// does not). libpng reports errors by longjmp, so the two functions that call into it hold only
// plain C data; buffers are allocated by the caller between them.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "vision/internal/decoders.h"

namespace tpserve::vision::internal {
namespace {

struct PngSource {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const unsigned char* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  char error[160] = {};
  // Filled by ReadInfo.
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int channels = 0;
  size_t row_bytes = 0;
  bool clip16_gray = false;  // 16-bit gray without alpha: PIL clips to 255 instead of >> 8
};

void ReadData(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > src->size - src->pos) png_error(png, "truncated file (read past the end of the data)");
  std::memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

void OnError(png_structp png, png_const_charp message) {
  auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(src->error, sizeof(src->error), "%s", message);
  longjmp(png_jmpbuf(png), 1);
}

void OnWarning(png_structp, png_const_charp) {}

// Reads the header chunks and sets up the conversions. False on a libpng error.
bool ReadInfo(PngSource* s) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_read_fn(s->png, s, ReadData);
  // Bound what a hostile file can make libpng allocate for ancillary chunks.
  png_set_chunk_malloc_max(s->png, 8 << 20);
  png_read_info(s->png, s->info);
  const int color = png_get_color_type(s->png, s->info);
  const int depth = png_get_bit_depth(s->png, s->info);
  const bool trns = png_get_valid(s->png, s->info, PNG_INFO_tRNS) != 0;
  s->clip16_gray = color == PNG_COLOR_TYPE_GRAY && depth == 16 && !trns;
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
  if (trns) png_set_tRNS_to_alpha(s->png);
  if (depth == 16) {
    if (s->clip16_gray) {
      png_set_swap(s->png);  // little-endian 16-bit samples, clipped by the caller
    } else {
      png_set_strip_16(s->png);  // the high byte, as PIL's ";16B" raw modes take
    }
  }
  if (!s->clip16_gray && (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)) {
    png_set_gray_to_rgb(s->png);
  }
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  s->width = png_get_image_width(s->png, s->info);
  s->height = png_get_image_height(s->png, s->info);
  s->channels = png_get_channels(s->png, s->info);
  s->row_bytes = png_get_rowbytes(s->png, s->info);
  return true;
}

bool ReadRows(PngSource* s, png_bytepp rows) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_read_image(s->png, rows);
  png_read_end(s->png, nullptr);
  return true;
}

class PngHandles {
 public:
  explicit PngHandles(PngSource& s) : s_(s) {}
  ~PngHandles() { png_destroy_read_struct(&s_.png, &s_.info, nullptr); }
  PngHandles(const PngHandles&) = delete;
  PngHandles& operator=(const PngHandles&) = delete;

 private:
  PngSource& s_;
};

}  // namespace

absl::StatusOr<DecodedPixels> DecodePng(std::string_view bytes, const ImageHeader& header) {
  PngSource s;
  s.data = reinterpret_cast<const unsigned char*>(bytes.data());
  s.size = bytes.size();
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, OnError, OnWarning);
  if (s.png == nullptr) return absl::ResourceExhaustedError("PNG: cannot create a decoder");
  PngHandles handles(s);
  s.info = png_create_info_struct(s.png);
  if (s.info == nullptr) return absl::ResourceExhaustedError("PNG: cannot create a decoder");
  auto corrupt = [&] {
    return absl::InvalidArgumentError(absl::StrCat("image: corrupt PNG: ", s.error));
  };
  if (!ReadInfo(&s)) return corrupt();
  if (s.width != header.width || s.height != header.height) {
    return absl::InvalidArgumentError("image: corrupt PNG: size differs from the header's");
  }
  const int channels_out = s.clip16_gray ? 3 : s.channels;
  if (!s.clip16_gray && s.channels != 3 && s.channels != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: PNG decodes to ", s.channels, " channels (expected 3 or 4)"));
  }
  std::vector<uint8_t> raw(s.row_bytes * s.height);
  std::vector<png_bytep> rows(s.height);
  for (png_uint_32 y = 0; y < s.height; ++y) rows[y] = raw.data() + y * s.row_bytes;
  if (!ReadRows(&s, rows.data())) return corrupt();

  DecodedPixels out;
  out.width = s.width;
  out.height = s.height;
  out.channels = channels_out;
  if (!s.clip16_gray) {
    out.pixels = std::move(raw);  // row_bytes == width * channels for 8-bit output
    return out;
  }
  out.pixels.resize(static_cast<size_t>(out.width * out.height * 3));
  for (size_t i = 0, n = static_cast<size_t>(out.width * out.height); i < n; ++i) {
    const unsigned v = raw[2 * i] | (unsigned{raw[2 * i + 1]} << 8);
    const uint8_t g = static_cast<uint8_t>(v > 255 ? 255 : v);
    out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = g;
  }
  return out;
}

}  // namespace tpserve::vision::internal
