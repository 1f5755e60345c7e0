// JPEG through libjpeg-turbo with PIL's settings (the library defaults: ISLOW DCT, fancy
// upsampling), so decoded pixels equal PIL's. libjpeg reports errors by longjmp: the functions
// that call into it hold only plain C data.
#include <cstddef>
#include <cstdio>
// jpeglib.h needs FILE and size_t declared first, and jerror.h needs jpeglib.h.
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "vision/internal/decoders.h"

namespace tpserve::vision::internal {
namespace {

struct JpegError {
  jpeg_error_mgr mgr;  // first member: libjpeg hands back a pointer to it
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool corrupt_data = false;  // a warning that the entropy-coded data is damaged or truncated
};

void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

void OnMessage(j_common_ptr cinfo, int level) {
  if (level != -1) return;  // trace messages
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  const int code = cinfo->err->msg_code;
  // Truncation and broken entropy-coded data: PIL refuses a truncated file, and an image that
  // decodes to filler gray must not reach the model silently. Benign oddities (extraneous bytes
  // between markers, an unusual JFIF version) pass, as they do in PIL.
  if (code == JWRN_JPEG_EOF || code == JWRN_HUFF_BAD_CODE || code == JWRN_MUST_RESYNC ||
      code == JWRN_HIT_MARKER || code == JWRN_BOGUS_PROGRESSION || code == JWRN_ARITH_BAD_CODE) {
    if (!err->corrupt_data) (*cinfo->err->format_message)(cinfo, err->message);
    err->corrupt_data = true;
  }
}

struct JpegJob {
  jpeg_decompress_struct cinfo;
  JpegError err;
  bool created = false;
  bool cmyk = false;
  bool adobe_inverted = false;
  JDIMENSION width = 0;
  JDIMENSION height = 0;
  int components = 0;
};

bool ReadHeader(JpegJob* j, const unsigned char* data, unsigned long size) {
  j->cinfo.err = jpeg_std_error(&j->err.mgr);
  j->err.mgr.error_exit = OnError;
  j->err.mgr.emit_message = OnMessage;
  if (setjmp(j->err.jump)) return false;
  jpeg_create_decompress(&j->cinfo);
  j->created = true;
  // A hostile file must not make the decoder allocate without bound (progressive images keep
  // every coefficient; the size limits already bound that, this caps the rest).
  j->cinfo.mem->max_memory_to_use = 1L << 30;
  jpeg_mem_src(&j->cinfo, data, size);
  jpeg_read_header(&j->cinfo, TRUE);
  j->cmyk = j->cinfo.jpeg_color_space == JCS_CMYK || j->cinfo.jpeg_color_space == JCS_YCCK;
  // PIL reads every 4-component JPEG as inverted CMYK ("CMYK;I", Adobe's convention).
  j->adobe_inverted = j->cmyk;
  j->cinfo.out_color_space = j->cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&j->cinfo);
  j->width = j->cinfo.output_width;
  j->height = j->cinfo.output_height;
  j->components = j->cinfo.output_components;
  return true;
}

bool ReadScanlines(JpegJob* j, unsigned char* out, size_t row_bytes) {
  if (setjmp(j->err.jump)) return false;
  while (j->cinfo.output_scanline < j->cinfo.output_height) {
    JSAMPROW row = out + j->cinfo.output_scanline * row_bytes;
    jpeg_read_scanlines(&j->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&j->cinfo);
  return true;
}

void Destroy(JpegJob* j) {
  if (setjmp(j->err.jump)) return;
  if (j->created) jpeg_destroy_decompress(&j->cinfo);
}

// PIL's cmyk2rgb (Convert.c): nk = 255 − k; channel = nk − c·nk/255 (rounded), clipped.
uint8_t CmykChannel(int c, int k) {
  const int nk = 255 - k;
  const int t = c * nk + 128;
  const int muldiv = ((t >> 8) + t) >> 8;
  const int v = nk - muldiv;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

absl::StatusOr<DecodedPixels> DecodeJpeg(std::string_view bytes, const ImageHeader& header) {
  auto job = std::make_unique<JpegJob>();
  std::memset(&job->cinfo, 0, sizeof(job->cinfo));
  struct Cleanup {
    JpegJob* j;
    ~Cleanup() { Destroy(j); }
  } cleanup{job.get()};
  auto corrupt = [&] {
    return absl::InvalidArgumentError(absl::StrCat("image: corrupt JPEG: ", job->err.message));
  };
  if (!ReadHeader(job.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<unsigned long>(bytes.size()))) {
    return corrupt();
  }
  if (job->width != header.width || job->height != header.height) {
    return absl::InvalidArgumentError("image: corrupt JPEG: size differs from the header's");
  }
  const int comps = job->components;
  if ((job->cmyk && comps != 4) || (!job->cmyk && comps != 3)) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: JPEG decodes to ", comps, " components"));
  }
  const size_t row_bytes = static_cast<size_t>(job->width) * static_cast<size_t>(comps);
  std::vector<uint8_t> raw(row_bytes * job->height);
  if (!ReadScanlines(job.get(), raw.data(), row_bytes)) return corrupt();
  if (job->err.corrupt_data) return corrupt();

  DecodedPixels out;
  out.width = job->width;
  out.height = job->height;
  out.channels = 3;
  if (!job->cmyk) {
    out.pixels = std::move(raw);
    return out;
  }
  // Then PIL's CMYK -> RGB conversion.
  const size_t n = static_cast<size_t>(out.width * out.height);
  out.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    int cmyk[4];
    for (int c = 0; c < 4; ++c) {
      const int v = raw[4 * i + static_cast<size_t>(c)];
      cmyk[c] = job->adobe_inverted ? 255 - v : v;
    }
    for (int c = 0; c < 3; ++c)
      out.pixels[3 * i + static_cast<size_t>(c)] = CmykChannel(cmyk[c], cmyk[3]);
  }
  return out;
}

}  // namespace tpserve::vision::internal
