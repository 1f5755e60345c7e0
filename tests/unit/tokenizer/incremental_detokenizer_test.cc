#include "coordinator/tokenizer/incremental_detokenizer.h"

#include <string>
#include <vector>

#include "coordinator/tokenizer/byte_level.h"
#include "coordinator/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace tpserve::tokenizer {
namespace {

using testing::GetTokenizer;
using testing::ReadJsonLines;
using testing::TestDataDir;
using ::tpserve::testing::StatusIs;

// True when a piece boundary (a length of text handed out so far) falls strictly inside an
// occurrence of a guarded string in the final text: the stream would have shown part of it.
bool SplitsAGuardedString(const std::string& text, const std::vector<size_t>& boundaries,
                          const std::vector<std::string>& guarded) {
  for (const std::string& g : guarded) {
    for (size_t at = text.find(g); at != std::string::npos; at = text.find(g, at + 1)) {
      for (size_t b : boundaries) {
        if (b > at && b < at + g.size()) return true;
      }
    }
  }
  return false;
}

// Streams `ids` and checks every piece: whole UTF-8, no piece boundary inside a guarded string,
// and all pieces together equal to Decode(). Returns the number of failures.
int CheckStream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  IncrementalDetokenizer detok(tok, {.skip_special_tokens = skip_special});
  std::string streamed;
  std::vector<size_t> boundaries;
  int failures = 0;
  for (int32_t id : ids) {
    absl::StatusOr<std::string> piece = detok.Push(id);
    if (!piece.ok()) return 1;
    if (!ValidateUtf8(*piece).ok()) {
      ++failures;
      ADD_FAILURE() << "piece is not whole UTF-8: " << nlohmann::json(streamed).dump();
    }
    streamed += *piece;
    if (!piece->empty()) boundaries.push_back(streamed.size());
  }
  streamed += detok.Finish();
  if (streamed != *tok.Decode(ids, {.skip_special_tokens = skip_special})) {
    ++failures;
    ADD_FAILURE() << "streamed " << nlohmann::json(streamed).dump();
  }
  if (SplitsAGuardedString(streamed, boundaries, detok.guarded_strings())) {
    ++failures;
    ADD_FAILURE() << "a piece ends inside a guarded string: " << nlohmann::json(streamed).dump();
  }
  return failures;
}

// `ids` with every added token that is not special spelled out byte by byte with ordinary tokens,
// the way a model may write "</think>" without using its token.
std::vector<int32_t> SpellOutTags(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<int32_t> out;
  for (int32_t id : ids) {
    if (tok.IsSpecial(id) || tok.model().IdToToken(id) != nullptr) {
      out.push_back(id);
      continue;
    }
    const std::string bytes(*tok.TokenBytes(id));
    for (char c : bytes) {
      out.push_back(*tok.TokenToId(BytesToByteLevel(std::string(1, c))));
    }
  }
  return out;
}

class DetokenizerCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DetokenizerCorpusTest, StreamingEqualsDecodeOnEveryLine) {
  const Tokenizer& tok = GetTokenizer(GetParam());
  ASSERT_OK_AND_ASSIGN(std::vector<nlohmann::json> lines,
                       ReadJsonLines(TestDataDir() + "/" + GetParam() + ".encode.jsonl"));
  ASSERT_OK_AND_ASSIGN(std::vector<nlohmann::json> random,
                       ReadJsonLines(TestDataDir() + "/" + GetParam() + ".decode.jsonl"));
  int failures = 0;
  for (const nlohmann::json& l : lines) {
    const auto ids = (l.is_object() ? l.at("ids") : l).get<std::vector<int32_t>>();
    failures += CheckStream(tok, ids, false) + CheckStream(tok, ids, true);
    failures += CheckStream(tok, SpellOutTags(tok, ids), true);
  }
  // Random ids: lone bytes of broken characters, special tokens between the bytes of one.
  for (const nlohmann::json& c : random) {
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    failures += CheckStream(tok, ids, false) + CheckStream(tok, ids, true);
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, DetokenizerCorpusTest,
                         ::testing::Values("qwen3", "qwen35_style"));

TEST(IncrementalDetokenizerTest, HoldsACharacterUntilItsLastByte) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  IncrementalDetokenizer detok(tok);
  ASSERT_OK_AND_ASSIGN(std::string a, detok.Push(*tok.TokenToId("ä¸")));  // E4 B8 of 中
  EXPECT_EQ(a, "");
  ASSERT_OK_AND_ASSIGN(std::string b, detok.Push(*tok.TokenToId("Ń")));  // AD
  EXPECT_EQ(b, "中");
  // An emoji of four bytes given one byte at a time.
  for (const char* byte : {"ð", "Ł", "ĺ", "Ģ"}) {  // F0 9F 98 80 = 😀
    ASSERT_OK_AND_ASSIGN(std::string piece, detok.Push(*tok.TokenToId(byte)));
    EXPECT_EQ(piece, std::string(byte) == "Ģ" ? "😀" : "");
  }
  EXPECT_EQ(detok.Finish(), "");
}

TEST(IncrementalDetokenizerTest, BrokenBytesBecomeReplacementAtOnceOrAtTheEnd) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  IncrementalDetokenizer detok(tok);
  ASSERT_OK_AND_ASSIGN(std::string a, detok.Push(*tok.TokenToId("ä¸")));
  EXPECT_EQ(a, "");
  ASSERT_OK_AND_ASSIGN(std::string b, detok.Push(*tok.TokenToId("a")));  // cannot complete 中
  EXPECT_EQ(b,
            "\xEF\xBF\xBD"
            "a");
  ASSERT_OK_AND_ASSIGN(std::string c, detok.Push(*tok.TokenToId("ä¸")));
  EXPECT_EQ(c, "");
  EXPECT_EQ(detok.Finish(), "\xEF\xBF\xBD");
}

TEST(IncrementalDetokenizerTest, NeverShowsPartOfATagSpelledWithOrdinaryTokens) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  IncrementalDetokenizer detok(tok);
  std::vector<std::string> pieces;
  for (const char* t : {"Done", "</", "think", ">", "ĊĊ", "<", "b", ">"}) {
    ASSERT_OK_AND_ASSIGN(std::string piece, detok.Push(*tok.TokenToId(t)));
    pieces.push_back(piece);
  }
  pieces.push_back(detok.Finish());
  EXPECT_THAT(pieces,
              ::testing::ElementsAre("Done", "", "", "</think>", "\n\n", "", "<b", ">", ""));
}

TEST(IncrementalDetokenizerTest, SpecialTokensAreLeftOutByDefault) {
  const Tokenizer& tok = GetTokenizer("qwen35_style");
  IncrementalDetokenizer skip(tok);
  ASSERT_OK_AND_ASSIGN(std::string a, skip.Push(248046));  // <|im_end|>
  EXPECT_EQ(a, "");
  ASSERT_OK_AND_ASSIGN(std::string b, skip.Push(248069));  // </think> is not special
  EXPECT_EQ(b, "</think>");
  IncrementalDetokenizer keep(tok, {.skip_special_tokens = false});
  ASSERT_OK_AND_ASSIGN(std::string c, keep.Push(248046));
  EXPECT_EQ(c, "<|im_end|>");
}

TEST(IncrementalDetokenizerTest, CallerGuardedStrings) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  IncrementalDetokenizer detok(tok, {.guarded_strings = std::vector<std::string>{"STOP"}});
  ASSERT_OK_AND_ASSIGN(std::string a, detok.Push(*tok.TokenToId("ST")));
  EXPECT_EQ(a, "");
  ASSERT_OK_AND_ASSIGN(std::string b, detok.Push(*tok.TokenToId("OP")));
  EXPECT_EQ(b, "STOP");
  ASSERT_OK_AND_ASSIGN(std::string c, detok.Push(*tok.TokenToId("<")));  // not guarded now
  EXPECT_EQ(c, "<");
}

TEST(IncrementalDetokenizerTest, UnknownIdIsAnErrorAndChangesNothing) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  IncrementalDetokenizer detok(tok);
  ASSERT_OK_AND_ASSIGN(std::string a, detok.Push(*tok.TokenToId("ä¸")));
  EXPECT_THAT(detok.Push(999999), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(std::string b, detok.Push(*tok.TokenToId("Ń")));
  EXPECT_EQ(a + b, "中");
}

}  // namespace
}  // namespace tpserve::tokenizer
