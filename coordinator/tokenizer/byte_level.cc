#include "coordinator/tokenizer/byte_level.h"

#include <array>

#include "coordinator/tokenizer/utf8.h"

namespace tpserve::tokenizer {
namespace {

// Bytes that are printable and not whitespace stand for themselves ('!'..'~', '¡'..'¬', '®'..'ÿ');
// the other 68 bytes take the code points 256, 257, ... in byte order.
struct Tables {
  std::array<char32_t, 256> byte_to_char;
  std::array<int16_t, 324> char_to_byte;  // code points 0..323; -1 when not in the alphabet

  Tables() {
    char_to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool self =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      byte_to_char[b] = self ? static_cast<char32_t>(b) : next++;
      char_to_byte[byte_to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& GetTables() {
  static const Tables* tables = new Tables();
  return *tables;
}

}  // namespace

char32_t ByteToChar(uint8_t b) { return GetTables().byte_to_char[b]; }

std::optional<uint8_t> CharToByte(char32_t c) {
  const Tables& t = GetTables();
  if (c >= t.char_to_byte.size() || t.char_to_byte[c] < 0) return std::nullopt;
  return static_cast<uint8_t>(t.char_to_byte[c]);
}

std::string BytesToByteLevel(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) AppendUtf8(ByteToChar(static_cast<uint8_t>(c)), &out);
  return out;
}

std::optional<std::string> ByteLevelToBytes(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    const std::optional<uint8_t> b = CharToByte(NextCodePoint(token, &pos));
    if (!b.has_value()) return std::nullopt;
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

std::string ByteLevelTokenBytes(std::string_view token) {
  std::optional<std::string> bytes = ByteLevelToBytes(token);
  return bytes.has_value() ? *std::move(bytes) : std::string(token);
}

}  // namespace tpserve::tokenizer
