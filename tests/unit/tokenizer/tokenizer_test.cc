// Tokenizer behaviour beyond the corpus comparison: the Qwen ids of the spec, errors for bad
// input and for tokenizer.json files with parts this implementation does not support.
#include "coordinator/tokenizer/tokenizer.h"

#include <atomic>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/tokenizer/pcre2_regex.h"
#include "coordinator/tokenizer/pretokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/tokenizer/tokenizer_test_util.h"

namespace tpserve::tokenizer {
namespace {

using ::testing::ElementsAre;
using testing::GetTokenizer;
using ::testing::HasSubstr;
using testing::VocabPath;
using ::tpserve::testing::StatusIs;

nlohmann::json LoadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return nlohmann::json::parse(s.str(), nullptr, false);
}

TEST(TokenizerTest, Qwen35StyleHasTheSpecAddedTokenIds) {
  const Tokenizer& tok = GetTokenizer("qwen35_style");
  const std::vector<std::pair<int32_t, std::string>> spec = {
      {248044, "<|endoftext|>"},    {248045, "<|im_start|>"},     {248046, "<|im_end|>"},
      {248053, "<|vision_start|>"}, {248054, "<|vision_end|>"},   {248056, "<|image_pad|>"},
      {248057, "<|video_pad|>"},    {248058, "<tool_call>"},      {248059, "</tool_call>"},
      {248066, "<tool_response>"},  {248067, "</tool_response>"}, {248068, "<think>"},
      {248069, "</think>"},         {248076, "<|audio_pad|>"}};
  for (const auto& [id, content] : spec) {
    EXPECT_EQ(tok.TokenToId(content), id) << content;
    EXPECT_EQ(tok.IdToToken(id), content);
    ASSERT_OK_AND_ASSIGN(std::vector<int32_t> ids, tok.Encode(content));
    EXPECT_THAT(ids, ElementsAre(id)) << content;
  }
  EXPECT_EQ(tok.added_tokens().size(), 33u);
  EXPECT_EQ(tok.vocab_size(), 248077);
  EXPECT_TRUE(tok.IsSpecial(248046));
  EXPECT_FALSE(tok.IsSpecial(248069));  // <think>/</think> are text tokens, as in Qwen3
}

TEST(TokenizerTest, Qwen3Ids) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  EXPECT_EQ(tok.vocab_size(), 151669);
  EXPECT_EQ(tok.model().num_merges(), 151387);
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> ids,
                       tok.Encode("<|im_start|>user\nHello, world!<|im_end|>\n"));
  // <|im_start|> user \n Hello , Ġworld ! <|im_end|> \n
  EXPECT_THAT(ids, ElementsAre(151644, 872, 198, 9707, 11, 1879, 0, 151645, 198));
  ASSERT_OK_AND_ASSIGN(std::string text, tok.Decode(ids));
  EXPECT_EQ(text, "<|im_start|>user\nHello, world!<|im_end|>\n");
  ASSERT_OK_AND_ASSIGN(std::string no_special, tok.Decode(ids, {.skip_special_tokens = true}));
  EXPECT_EQ(no_special, "user\nHello, world!\n");
  EXPECT_EQ(tok.TokenToId("Ġworld"), 1879);
}

TEST(TokenizerTest, EmptyTextHasNoIds) {
  ASSERT_OK_AND_ASSIGN(std::vector<int32_t> ids, GetTokenizer("qwen3").Encode(""));
  EXPECT_TRUE(ids.empty());
  ASSERT_OK_AND_ASSIGN(std::string text, GetTokenizer("qwen3").Decode({}));
  EXPECT_EQ(text, "");
}

TEST(TokenizerTest, InvalidUtf8NamesTheByteOffset) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  EXPECT_THAT(tok.Encode("abc\xff"), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("invalid UTF-8 at byte offset 3")));
  EXPECT_THAT(tok.Encode("h\xC3\xA9llo \xE4\xB8"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("byte offset 7")));
  EXPECT_THAT(tok.Encode("\xED\xA0\x80"),  // a UTF-16 surrogate
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("byte offset 0")));
  EXPECT_THAT(tok.Encode("\xC0\xAF"),  // overlong '/'
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("byte offset 0")));
}

TEST(TokenizerTest, DecodeRejectsUnknownIds) {
  const Tokenizer& tok = GetTokenizer("qwen35_style");
  EXPECT_THAT(tok.Decode({1, 200000}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ids[1]: token id 200000 is not in the vocabulary")));
  EXPECT_THAT(tok.Decode({-1}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(tok.TokenBytes(248077), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TokenizerTest, DecodeReplacesBrokenUtf8LikeTokenizers) {
  const Tokenizer& tok = GetTokenizer("qwen3");
  // "中" is E4 B8 AD: "ä¸" (E4 B8) then "Ń" (AD).
  const int32_t head = *tok.TokenToId("ä¸"), tail = *tok.TokenToId("Ń");
  ASSERT_OK_AND_ASSIGN(std::string whole, tok.Decode({head, tail}));
  EXPECT_EQ(whole, "中");
  ASSERT_OK_AND_ASSIGN(std::string cut, tok.Decode({head}));
  EXPECT_EQ(cut, "\xEF\xBF\xBD");
  ASSERT_OK_AND_ASSIGN(std::string split, tok.Decode({head, 151645, tail}));
  EXPECT_EQ(split, "\xEF\xBF\xBD<|im_end|>\xEF\xBF\xBD");
  // With the special token left out, the bytes join again.
  ASSERT_OK_AND_ASSIGN(std::string joined,
                       tok.Decode({head, 151645, tail}, {.skip_special_tokens = true}));
  EXPECT_EQ(joined, "中");
}

// Oniguruma's \s is White_Space; PCRE2's also has U+180E. The pre-tokenizer must split like
// tokenizers (its pieces for these strings, from pre_tokenize_str).
TEST(PreTokenizerTest, WhiteSpaceMeansWhatOnigurumaMeans) {
  const nlohmann::json spec = LoadJson(VocabPath("qwen3")).at("pre_tokenizer");
  ASSERT_OK_AND_ASSIGN(PreTokenizer pre, PreTokenizer::FromJson(spec, "pre_tokenizer"));
  auto pieces = [&](std::string_view text) {
    std::vector<MatchSpan> spans;
    EXPECT_OK(pre.Split(text, &spans));
    std::vector<std::string> out;
    for (const MatchSpan& s : spans) out.emplace_back(text.substr(s.begin, s.end - s.begin));
    return out;
  };
  EXPECT_THAT(pieces("a \u180e\u180e"), ElementsAre("a", " \u180e\u180e"));
  EXPECT_THAT(pieces("x\u00a0\u00a0y"), ElementsAre("x", "\u00a0", "\u00a0y"));
  EXPECT_THAT(pieces("x\u0085\u0085y"), ElementsAre("x", "\u0085", "\u0085y"));
  EXPECT_THAT(pieces("x'\u017ft"), ElementsAre("x", "'\u017f", "t"));  // 's matches 'ſ caselessly
  EXPECT_THAT(pieces("We'LL go"), ElementsAre("We", "'LL", " go"));
}

TEST(PreTokenizerTest, TranslateOnigPattern) {
  ASSERT_OK_AND_ASSIGN(std::string out, TranslateOnigPattern(R"(\s+(?!\S)|[^\s\p{L}]|\\s|[\]\s])"));
  EXPECT_THAT(out, HasSubstr(R"([\t\n\x{0B}\f\r\x{20}\x{85})"));
  EXPECT_THAT(out, HasSubstr(R"((?![^\t)"));
  EXPECT_THAT(out, HasSubstr(R"(|\\s|)"));  // an escaped backslash then 's' is left alone
  EXPECT_THAT(TranslateOnigPattern(R"([^\S])"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TranslateOnigPattern(R"([a[b]])"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Every component this implementation does not run must stop the load, naming the field.
TEST(TokenizerTest, UnsupportedOrBrokenFilesFailClosed) {
  const nlohmann::json base = LoadJson(VocabPath("added_options"));
  ASSERT_TRUE(base.is_object());
  ASSERT_OK(Tokenizer::FromJsonText(base.dump(), "t.json").status());
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"normalizer",
       [](auto& j) {
         j["normalizer"] = {{"type", "Lowercase"}};
       },
       "normalizer.type: normalizer 'Lowercase' is not supported"},
      {"nested normalizer",
       [](auto& j) {
         j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}}}};
       },
       "normalizer.normalizers[0].type: normalizer 'NFKC'"},
      {"split behavior",
       [](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; },
       "pre_tokenizer.pretokenizers[0].behavior: 'Removed' is not supported"},
      {"no byte level", [](auto& j) { j["pre_tokenizer"] = nullptr; },
       "pre_tokenizer: no ByteLevel pre-tokenizer"},
      {"bad regex",
       [](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(a"; },
       "pre_tokenizer.pretokenizers[0].pattern: regex does not compile"},
      {"prefix space",
       [](auto& j) { j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true; },
       "pre_tokenizer.pretokenizers[1].add_prefix_space: true is not supported"},
      {"decoder",
       [](auto& j) {
         j["decoder"] = {{"type", "WordPiece"}};
       },
       "decoder.type: 'WordPiece' is not supported"},
      {"post processor",
       [](auto& j) {
         j["post_processor"] = {{"type", "TemplateProcessing"}};
       },
       "post_processor.type: 'TemplateProcessing'"},
      {"model", [](auto& j) { j["model"]["type"] = "Unigram"; }, "model.type: model \"Unigram\""},
      {"dropout", [](auto& j) { j["model"]["dropout"] = 0.1; }, "model.dropout"},
      {"suffix", [](auto& j) { j["model"]["end_of_word_suffix"] = "</w>"; },
       "model.end_of_word_suffix"},
      {"missing byte", [](auto& j) { j["model"]["vocab"].erase("Ā"); },
       "model.vocab: no token for byte 0x00"},
      {"merge form", [](auto& j) { j["model"]["merges"][0] = "a b c"; },
       "model.merges[0]: expected"},
      {"merge token",
       [](auto& j) {
         j["model"]["merges"][1] = {"zz", "q"};
       },
       "model.merges[1]: token \"zz\" is not in model.vocab"},
      {"vocab id", [](auto& j) { j["model"]["vocab"]["a"] = -5; }, "model.vocab[\"a\"]"},
      {"added id", [](auto& j) { j["added_tokens"][1]["id"] = 300; },
       "added_tokens[1]: \"<mask>\" has id 300 but Hugging Face tokenizers would give it id 262"},
      {"added type", [](auto& j) { j["added_tokens"][0]["special"] = "yes"; },
       "added_tokens[0].special: expected true or false"},
      {"truncation",
       [](auto& j) {
         j["truncation"] = {{"max_length", 8}};
       },
       "truncation:"},
      {"no model", [](auto& j) { j.erase("model"); }, "model: missing"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = base;
    c.edit(j);
    EXPECT_THAT(Tokenizer::FromJsonText(j.dump(), "t.json"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.json: " + c.message)))
        << c.name;
  }
  EXPECT_THAT(Tokenizer::FromJsonText("{not json", "t.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.json: not a valid JSON")));
  EXPECT_THAT(Tokenizer::FromFile("/nonexistent/tokenizer.json"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/tokenizer.json")));
}

TEST(TokenizerTest, MergesInBothSpellingsGiveTheSameIds) {
  nlohmann::json j = LoadJson(VocabPath("added_options"));
  nlohmann::json as_strings = j;
  for (auto& m : as_strings["model"]["merges"]) {
    if (m.is_array()) m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  }
  ASSERT_OK_AND_ASSIGN(auto a, Tokenizer::FromJsonText(j.dump(), "lists"));
  ASSERT_OK_AND_ASSIGN(auto b, Tokenizer::FromJsonText(as_strings.dump(), "strings"));
  for (const char* text : {"abc hello world", "aabcab lolo"}) {
    EXPECT_EQ(*a->Encode(text), *b->Encode(text)) << text;
  }
}

TEST(TokenizerTest, ThreadsShareOneTokenizer) {
  const Tokenizer& tok = GetTokenizer("qwen35_style");
  const std::vector<std::string>& corpus = testing::Corpus();
  std::vector<std::vector<int32_t>> want;
  for (size_t i = 0; i < 200; ++i) want.push_back(*tok.Encode(corpus[i]));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < 200; ++i) {
        const size_t k = (i * 7 + static_cast<size_t>(t) * 13) % 200;
        if (*tok.Encode(corpus[k]) != want[k]) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tpserve::tokenizer
