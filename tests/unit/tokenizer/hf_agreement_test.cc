// The tokenizer against Hugging Face `tokenizers` (tools/tokenizer/make_expected.py), token for
// token, on every line of the corpus and for both vocabularies: the real Qwen3 one and the
// trained Qwen3.5-style one (Qwen3.5 regex with \p{M}, Qwen3.5 added-token ids).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace tpserve::tokenizer {
namespace {

using testing::Corpus;
using testing::GetTokenizer;
using testing::ReadJsonLines;
using testing::TestDataDir;

std::string Show(const std::vector<int32_t>& ids) {
  return absl::StrCat("[", absl::StrJoin(ids, ","), "]");
}

class HfAgreementTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HfAgreementTest, EncodeAndDecodeEveryCorpusLine) {
  const Tokenizer& tok = GetTokenizer(GetParam());
  ASSERT_OK_AND_ASSIGN(std::vector<nlohmann::json> expected,
                       ReadJsonLines(TestDataDir() + "/" + GetParam() + ".encode.jsonl"));
  const std::vector<std::string>& corpus = Corpus();
  ASSERT_GE(corpus.size(), 2000u);
  ASSERT_EQ(expected.size(), corpus.size()) << "regenerate with tools/tokenizer/make_expected.py";
  int encode_mismatches = 0, decode_mismatches = 0;
  int64_t tokens = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const nlohmann::json& e = expected[i];
    const std::vector<int32_t> want = (e.is_object() ? e.at("ids") : e).get<std::vector<int32_t>>();
    const std::string want_text = e.is_object() ? e.at("decoded").get<std::string>() : corpus[i];
    tokens += static_cast<int64_t>(want.size());
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> got, tok.Encode(corpus[i]));
    if (got != want && ++encode_mismatches <= 5) {
      ADD_FAILURE() << "line " << i + 1 << " " << nlohmann::json(corpus[i]).dump() << "\n  got  "
                    << Show(got) << "\n  want " << Show(want);
    }
    ASSERT_OK_AND_ASSIGN(std::string text, tok.Decode(want));
    if (text != want_text && ++decode_mismatches <= 5) {
      ADD_FAILURE() << "decode of line " << i + 1 << ": got " << nlohmann::json(text).dump()
                    << " want " << nlohmann::json(want_text).dump();
    }
  }
  EXPECT_EQ(encode_mismatches, 0);
  EXPECT_EQ(decode_mismatches, 0);
  RecordProperty("lines", static_cast<int>(corpus.size()));
  RecordProperty("tokens", static_cast<int>(tokens));
}

TEST_P(HfAgreementTest, DecodeRandomIdSequences) {
  const Tokenizer& tok = GetTokenizer(GetParam());
  ASSERT_OK_AND_ASSIGN(std::vector<nlohmann::json> cases,
                       ReadJsonLines(TestDataDir() + "/" + GetParam() + ".decode.jsonl"));
  ASSERT_GE(cases.size(), 100u);
  int mismatches = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int32_t> ids = cases[i].at("ids").get<std::vector<int32_t>>();
    ASSERT_OK_AND_ASSIGN(std::string text, tok.Decode(ids));
    ASSERT_OK_AND_ASSIGN(std::string skipped, tok.Decode(ids, {.skip_special_tokens = true}));
    if ((text != cases[i].at("text").get<std::string>() ||
         skipped != cases[i].at("text_skip_special").get<std::string>()) &&
        ++mismatches <= 5) {
      ADD_FAILURE() << "case " << i + 1 << " " << Show(ids) << ": got "
                    << nlohmann::json(text).dump() << " / " << nlohmann::json(skipped).dump()
                    << ", want " << cases[i].at("text").dump() << " / "
                    << cases[i].at("text_skip_special").dump();
    }
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, HfAgreementTest, ::testing::Values("qwen3", "qwen35_style"));

// A synthetic vocabulary whose added tokens use lstrip, rstrip, single_word, normalized and
// special, overlapping each other (longest match), against tokenizers on lines made for them.
TEST(HfAgreementAddedTokenOptionsTest, EveryOptionMatches) {
  const Tokenizer& tok = GetTokenizer("added_options");
  ASSERT_OK_AND_ASSIGN(std::vector<nlohmann::json> cases,
                       ReadJsonLines(TestDataDir() + "/added_options.encode.jsonl"));
  ASSERT_GE(cases.size(), 10u);
  for (const nlohmann::json& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> ids, tok.Encode(text));
    EXPECT_EQ(Show(ids), Show(c.at("ids").get<std::vector<int32_t>>()))
        << nlohmann::json(text).dump();
    ASSERT_OK_AND_ASSIGN(std::string decoded, tok.Decode(ids));
    EXPECT_EQ(decoded, c.at("decoded").get<std::string>());
  }
}

}  // namespace
}  // namespace tpserve::tokenizer
