#include "coordinator/tokenizer/output_parser.h"

#include <string>
#include <vector>

#include "coordinator/tokenizer/chat_template.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::tokenizer {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kWeatherCall[] =
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
    "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>";

// Streams `text` in pieces of `step` bytes and checks the deltas add up to ParseAll.
ParsedOutput Stream(std::string_view text, const OutputParserOptions& options, size_t step) {
  OutputParser parser(options);
  ParsedOutput all;
  for (size_t i = 0; i < text.size(); i += step) all.Append(parser.Push(text.substr(i, step)));
  all.Append(parser.Finish());
  return all;
}

void ExpectSame(const ParsedOutput& a, const ParsedOutput& b) {
  EXPECT_EQ(a.reasoning, b.reasoning);
  EXPECT_EQ(a.content, b.content);
  EXPECT_EQ(a.tool_calls, b.tool_calls);
}

TEST(OutputParserTest, ReasoningThenAnswer) {
  const ParsedOutput p = OutputParser::ParseAll("I should greet.\n</think>\n\nHello there!",
                                                {.starts_in_reasoning = true});
  EXPECT_EQ(p.reasoning, "I should greet.");
  EXPECT_EQ(p.content, "Hello there!");
  EXPECT_TRUE(p.tool_calls.empty());
}

TEST(OutputParserTest, AnswerOnlyWhenThinkingIsOff) {
  const ParsedOutput p = OutputParser::ParseAll("Hello!\n", {});
  EXPECT_EQ(p.reasoning, "");
  EXPECT_EQ(p.content, "Hello!");
}

TEST(OutputParserTest, ModelOpensItsOwnThinkBlock) {
  ParsedOutput p = OutputParser::ParseAll("\n<think>\nx\n</think>\n\ny", {});
  EXPECT_EQ(p.reasoning, "x");
  EXPECT_EQ(p.content, "y");
  // After the prompt's <think>, a repeated <think> is dropped.
  p = OutputParser::ParseAll("<think>x</think>y", {.starts_in_reasoning = true});
  EXPECT_EQ(p.reasoning, "x");
  EXPECT_EQ(p.content, "y");
}

TEST(OutputParserTest, StoppedInsideReasoning) {
  const ParsedOutput p =
      OutputParser::ParseAll("still thinking </thi", {.starts_in_reasoning = true});
  EXPECT_EQ(p.reasoning, "still thinking </thi");
  EXPECT_EQ(p.content, "");
}

TEST(OutputParserTest, ToolCalls) {
  const std::string text = std::string("r</think>\n\nLet me check.\n\n") + kWeatherCall + "\n" +
                           "<tool_call>\n<function=now>\n</function>\n</tool_call>";
  const ParsedOutput p = OutputParser::ParseAll(text, {.starts_in_reasoning = true});
  EXPECT_EQ(p.reasoning, "r");
  EXPECT_EQ(p.content, "Let me check.");
  ASSERT_EQ(p.tool_calls.size(), 2u);
  EXPECT_EQ(p.tool_calls[0].name, "get_weather");
  EXPECT_EQ(p.tool_calls[0].arguments, (Json{{"city", "Paris"}, {"days", 3}}));
  EXPECT_EQ(p.tool_calls[1].name, "now");
  EXPECT_EQ(p.tool_calls[1].arguments, Json::object());
}

TEST(OutputParserTest, ParameterTypes) {
  const std::string call =
      "<tool_call>\n<function=f>\n<parameter=zip>\n02139\n</parameter>\n<parameter=n>\n42\n</"
      "parameter>\n"
      "<parameter=ok>\ntrue\n</parameter>\n<parameter=obj>\n{\"a\": [1, 2]}\n</parameter>\n"
      "<parameter=quoted>\n\"hi\"\n</parameter>\n<parameter=text>\nline 1\nline 2\n</parameter>\n"
      "<parameter=nothing>\nnull\n</parameter>\n</function>\n</tool_call>";
  // No schema: JSON numbers, booleans, objects, null become values; the rest stays text.
  ParsedOutput p = OutputParser::ParseAll(call, {});
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].arguments.dump(),
            R"({"zip":"02139","n":42,"ok":true,"obj":{"a":[1,2]},"quoted":"\"hi\"",)"
            R"("text":"line 1\nline 2","nothing":null})");
  // A schema that declares strings keeps them as written.
  const Json tools = Json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {
      "type": "object", "properties": {"n": {"type": "string"}, "ok": {"type": ["string", "null"]},
      "zip": {"type": "integer"}}}}}])");
  p = OutputParser::ParseAll(call, {.tools = tools});
  EXPECT_EQ(p.tool_calls[0].arguments.at("n"), "42");
  EXPECT_EQ(p.tool_calls[0].arguments.at("ok"), "true");
  EXPECT_EQ(p.tool_calls[0].arguments.at("zip"), "02139");  // not a JSON number: left as text
}

TEST(OutputParserTest, MalformedAndUnfinishedCalls) {
  ParsedOutput p = OutputParser::ParseAll("A <tool_call>oops</tool_call> B", {});
  EXPECT_EQ(p.content, "A<tool_call>oops</tool_call>B");
  EXPECT_TRUE(p.tool_calls.empty());
  // Cut off after </function>: still a call. Without </parameter> the value runs to the end.
  p = OutputParser::ParseAll("<tool_call>\n<function=f>\n<parameter=a>\n1\n</function>", {});
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].arguments, (Json{{"a", 1}}));
  p = OutputParser::ParseAll("text <tool_c", {});
  EXPECT_EQ(p.content, "text <tool_c");
}

// Streaming in any piece size gives the same result, and no delta ever holds part of a tag:
// tags never appear in the parsed fields, so a leaked half tag would make the sums differ.
TEST(OutputParserTest, StreamingInAnyPieceSizeMatchesTheWhole) {
  const std::string text = std::string("  <think>plan: a < b\n\n</think>\n\nAnswer: x </y>\n\n") +
                           kWeatherCall + "\n\n" + kWeatherCall;
  for (bool reasoning : {true, false}) {
    const OutputParserOptions options{.starts_in_reasoning = reasoning};
    const ParsedOutput whole = OutputParser::ParseAll(text, options);
    EXPECT_EQ(whole.content, "Answer: x </y>");
    EXPECT_EQ(whole.tool_calls.size(), 2u);
    for (size_t step : {1, 2, 3, 5, 7, 11, 64}) ExpectSame(Stream(text, options, step), whole);
  }
}

TEST(OutputParserTest, DeltasAreFinalAsSoonAsTheyCanBe) {
  OutputParser parser({.starts_in_reasoning = true});
  EXPECT_EQ(parser.Push("Thinking").reasoning, "Thinking");
  EXPECT_EQ(parser.Push(" more\n</th").reasoning, " more");  // newline and "</th" held
  ParsedOutput d = parser.Push("ink>\n\nHi <");
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "Hi");  // " <" held: could be <tool_call>
  d = parser.Push("b>");
  EXPECT_EQ(d.content, " <b>");
  d = parser.Push("\n<tool_call>\n<function=f>\n</function>\n");
  EXPECT_TRUE(d.empty());  // a call is returned whole
  d = parser.Push("</tool_call>");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_TRUE(parser.Finish().empty());
}

// What the parser returns renders back (chat template) to the text the model wrote.
TEST(OutputParserTest, ParsedTurnRendersBackToTheSameText) {
  const std::string generated =
      std::string("Need weather.\n</think>\n\nChecking.\n\n") + kWeatherCall;
  const ParsedOutput p = OutputParser::ParseAll(generated, {.starts_in_reasoning = true});
  ChatMessage turn = ChatMessage::Assistant(p.content);
  turn.reasoning_content = p.reasoning;
  turn.tool_calls = p.tool_calls;
  const std::vector<ChatMessage> history = {ChatMessage::User("Weather?"), turn};
  ASSERT_OK_AND_ASSIGN(std::string rendered,
                       RenderChatTemplate(history, nullptr, {.add_generation_prompt = false}));
  EXPECT_EQ(rendered, "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<think>\n" +
                          generated + "<|im_end|>\n");
}

}  // namespace
}  // namespace tpserve::tokenizer
