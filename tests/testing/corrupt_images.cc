#include "tests/testing/corrupt_images.h"

#include <array>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/testing/test_env.h"

namespace tpserve::testing {
namespace {

// CRC-32 of PNG chunks (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320).
uint32_t Crc32(const std::string& bytes, size_t begin, size_t end) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = begin; i < end; ++i) {
    c = table[(c ^ static_cast<uint8_t>(bytes[i])) & 0xFF] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

uint32_t ReadBe32(const std::string& b, size_t at) {
  return (uint32_t{static_cast<uint8_t>(b[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(b[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(b[at + 3])};
}

void WriteBe32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
}

struct Chunk {
  size_t start = 0;  // offset of the length field
  uint32_t length = 0;
  std::string type;
  size_t data() const { return start + 8; }
  size_t crc() const { return data() + length; }
};

std::vector<Chunk> Chunks(const std::string& png) {
  std::vector<Chunk> out;
  size_t at = 8;  // after the signature
  while (at + 12 <= png.size()) {
    Chunk c{.start = at, .length = ReadBe32(png, at), .type = png.substr(at + 4, 4)};
    if (c.crc() + 4 > png.size()) break;
    out.push_back(c);
    at = c.crc() + 4;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<CorruptImage>> CorruptPngs(const std::string& png) {
  const std::vector<Chunk> chunks = Chunks(png);
  const Chunk* ihdr = nullptr;
  const Chunk* idat = nullptr;
  for (const Chunk& c : chunks) {
    if (c.type == "IHDR" && ihdr == nullptr) ihdr = &c;
    if (c.type == "IDAT" && idat == nullptr) idat = &c;
  }
  if (ihdr == nullptr || idat == nullptr || idat->length < 8) {
    return absl::InvalidArgumentError("CorruptPngs: the input has no IHDR and IDAT of 8+ bytes");
  }
  std::vector<CorruptImage> out;
  out.push_back({"truncated in the first IDAT", png.substr(0, idat->data() + idat->length / 2)});
  std::string bad_crc = png;
  bad_crc[ihdr->crc()] = static_cast<char>(bad_crc[ihdr->crc()] ^ 0x5A);
  out.push_back({"IHDR CRC error", bad_crc});
  std::string bad_zlib = png;
  // Past the 2-byte zlib header: a deflate block type of 3 (reserved) or garbage codes.
  for (size_t i = idat->data() + 2; i < idat->crc(); ++i) bad_zlib[i] = static_cast<char>(0xFF);
  WriteBe32(bad_zlib, idat->crc(), Crc32(bad_zlib, idat->start + 4, idat->crc()));
  out.push_back({"corrupt zlib data (valid chunk CRC)", bad_zlib});
  out.push_back({"no IEND, data cut after the IDAT length", png.substr(0, idat->data())});
  return out;
}

std::string TruncatedJpeg(const std::string& jpeg) { return jpeg.substr(0, jpeg.size() * 6 / 10); }

std::string ReadSourceFile(const std::string& relative_path) {
  std::ifstream in(absl::StrCat(SourceDir(), "/", relative_path), std::ios::binary);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tpserve::testing
