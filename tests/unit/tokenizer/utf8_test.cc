#include "coordinator/tokenizer/utf8.h"

#include <string>

#include "coordinator/tokenizer/byte_level.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::tokenizer {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

constexpr char kR[] = "\xEF\xBF\xBD";  // U+FFFD

TEST(Utf8Test, ValidateAcceptsWellFormedText) {
  EXPECT_OK(ValidateUtf8(""));
  EXPECT_OK(ValidateUtf8("plain ascii that is longer than eight bytes"));
  EXPECT_OK(ValidateUtf8("é中😀\U0010FFFF\xEF\xBF\xBF"));
  EXPECT_OK(ValidateUtf8(std::string("nul\0inside", 10)));
}

TEST(Utf8Test, ValidateNamesTheOffsetAndTheProblem) {
  EXPECT_THAT(ValidateUtf8("abcdefghij\x80", "text"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "text: invalid UTF-8 at byte offset 10: unexpected continuation byte 0x80"));
  EXPECT_THAT(ValidateUtf8("a\xFE"), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("offset 1: byte 0xFE never appears")));
  EXPECT_THAT(ValidateUtf8("ab\xE4\xB8"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("offset 2: sequence starting with 0xE4 is cut off")));
  EXPECT_THAT(ValidateUtf8("\xE4\x41"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 HasSubstr("offset 0: byte 0x41 at offset 1")));
  EXPECT_THAT(ValidateUtf8("\xED\xA0\x80"),
              StatusIs(absl::StatusCode::kInvalidArgument));                            // surrogate
  EXPECT_THAT(ValidateUtf8("\xC1\xBF"), StatusIs(absl::StatusCode::kInvalidArgument));  // overlong
  EXPECT_THAT(ValidateUtf8("\xF4\x90\x80\x80"),
              StatusIs(absl::StatusCode::kInvalidArgument));  // > U+10FFFF
}

// One U+FFFD per maximal subpart, as Rust's from_utf8_lossy and Python's errors="replace".
TEST(Utf8Test, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(LossyUtf8("ok"), "ok");
  EXPECT_EQ(LossyUtf8("\xE0\x80\x80"), std::string(kR) + kR + kR);
  EXPECT_EQ(LossyUtf8("\xF4\x90\x80\x80"), std::string(kR) + kR + kR + kR);
  EXPECT_EQ(LossyUtf8("\xF0\x9F\x98"
                      "A"),
            std::string(kR) + "A");
  EXPECT_EQ(LossyUtf8("\xF0\x9F\x98"), kR);
  EXPECT_EQ(LossyUtf8("\x80\x80"), std::string(kR) + kR);
  EXPECT_EQ(LossyUtf8("\xE4\xB8\xAD\xE4"), std::string("中") + kR);
}

TEST(Utf8Test, IncompleteSuffix) {
  EXPECT_EQ(IncompleteUtf8Suffix(""), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("abc"), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("abc\xE4\xB8"), 2u);
  EXPECT_EQ(IncompleteUtf8Suffix("abc\xE4\xB8\xAD"), 0u);
  EXPECT_EQ(IncompleteUtf8Suffix("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(IncompleteUtf8Suffix("\xF0"), 1u);
  EXPECT_EQ(IncompleteUtf8Suffix("a\xFF"), 0u);     // can never complete
  EXPECT_EQ(IncompleteUtf8Suffix("\xE0\x80"), 0u);  // overlong start: already ill-formed
  EXPECT_EQ(IncompleteUtf8Suffix("\xE4\xB8\xE4"), 1u);
}

TEST(ByteLevelTest, MapIsGpt2s) {
  EXPECT_EQ(ByteToChar(' '), U'\u0120');   // Ġ
  EXPECT_EQ(ByteToChar('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(ByteToChar('a'), U'a');
  EXPECT_EQ(ByteToChar(0xAD), U'\u0143');  // the soft hyphen byte is not printable
  for (int b = 0; b < 256; ++b) EXPECT_EQ(CharToByte(ByteToChar(static_cast<uint8_t>(b))), b);
  EXPECT_FALSE(CharToByte(U'中').has_value());
  EXPECT_EQ(BytesToByteLevel(" hi\n"), "\xC4\xA0hi\xC4\x8A");
  EXPECT_EQ(ByteLevelTokenBytes("\xC4\xA0hi"), " hi");
  // A character outside the alphabet: the token's own bytes (tokenizers' decoder rule).
  EXPECT_EQ(ByteLevelTokenBytes("中"), "中");
}

}  // namespace
}  // namespace tpserve::tokenizer
