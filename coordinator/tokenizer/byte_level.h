// GPT-2's reversible byte <-> character map, which byte-level BPE vocabularies are written in: each
// of the 256 byte values is one printable code point ("Ġ" is the space byte 0x20, "Ċ" is '\n').
#ifndef TPSERVE_COORDINATOR_TOKENIZER_BYTE_LEVEL_H_
#define TPSERVE_COORDINATOR_TOKENIZER_BYTE_LEVEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tpserve::tokenizer {

// The code point that stands for byte `b`.
char32_t ByteToChar(uint8_t b);

// The byte that code point `c` stands for, or nullopt when `c` is not one of the 256.
std::optional<uint8_t> CharToByte(char32_t c);

// `bytes` written in the byte-level alphabet (UTF-8), e.g. " hi" -> "Ġhi".
std::string BytesToByteLevel(std::string_view bytes);

// The bytes a token stands for when decoded, with the rule of Hugging Face's ByteLevel decoder:
// when every character of `token` (well-formed UTF-8) is in the byte-level alphabet, the bytes
// they stand for; otherwise the token's own UTF-8 bytes, unchanged.
std::string ByteLevelTokenBytes(std::string_view token);

// Like ByteLevelTokenBytes, but nullopt when some character is not in the alphabet.
std::optional<std::string> ByteLevelToBytes(std::string_view token);

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_BYTE_LEVEL_H_
