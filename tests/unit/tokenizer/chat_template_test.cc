// The Qwen3.5 / 3.6 chat template, branch by branch. Every expected string is written from
// spec §6.2 (the layout rules quoted in each test's comment), not produced by the code.
#include "coordinator/tokenizer/chat_template.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::tokenizer {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;
using Json = nlohmann::ordered_json;

std::string Render(const std::vector<ChatMessage>& messages,
                   const ChatTemplateOptions& options = {}, const Json& tools = nullptr) {
  absl::StatusOr<std::string> s = RenderChatTemplate(messages, tools, options);
  EXPECT_OK(s);
  return s.ok() ? *s : "";
}

ChatMessage Parts(std::string role, std::vector<ContentPart> parts) {
  ChatMessage m;
  m.role = std::move(role);
  m.content = std::move(parts);
  return m;
}

ToolCall Call(std::string name, Json arguments) { return {std::move(name), std::move(arguments)}; }

// 6: generation prompt; 4B+ default thinking on -> "<think>\n".
TEST(ChatTemplateTest, UserTurnAndThinkingGenerationPrompt) {
  EXPECT_EQ(Render({ChatMessage::User("Hello")}),
            "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n");
}

// 6: enable_thinking explicitly false -> the closed think block.
TEST(ChatTemplateTest, ThinkingOff) {
  EXPECT_EQ(Render({ChatMessage::User("Hello")}, {.enable_thinking = false}),
            "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

// 6: 0.8B / 2B default off; explicit true opens the block.
TEST(ChatTemplateTest, SmallModelsDefaultToThinkingOff) {
  const std::vector<ChatMessage> m = {ChatMessage::User("Hi")};
  EXPECT_EQ(Render(m, {.default_thinking = false}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  EXPECT_EQ(Render(m, {.enable_thinking = true, .default_thinking = false}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n");
  EXPECT_FALSE(DefaultThinkingForModel(24));  // 0.8B, 2B
  EXPECT_TRUE(DefaultThinkingForModel(32));   // 4B, 9B
  EXPECT_TRUE(DefaultThinkingForModel(64));   // 27B
}

TEST(ChatTemplateTest, NoGenerationPrompt) {
  EXPECT_EQ(Render({ChatMessage::User("Hi")}, {.add_generation_prompt = false}),
            "<|im_start|>user\nHi<|im_end|>\n");
}

// 1 (no tools): a leading system message is a normal turn; contents are trimmed.
TEST(ChatTemplateTest, SystemTurnAndTrimmedContents) {
  EXPECT_EQ(Render({ChatMessage::System("  You are helpful.\n"), ChatMessage::User("\n  Hi \t")},
                   {.add_generation_prompt = false}),
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
}

// 2 + 4: history assistant turns (before the last user query) lose their reasoning; the <think>
// part of their content is cut away.
TEST(ChatTemplateTest, HistoryReasoningIsDropped) {
  EXPECT_EQ(
      Render({ChatMessage::User("Hi"), ChatMessage::Assistant("<think>\nplan\n</think>\n\nHello!"),
              ChatMessage::User("How are you?")}),
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
      "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n<think>\n");
}

// 4 + 5: an assistant turn after the last query keeps <think>; tool calls in XML (string raw,
// number through str()); consecutive tool results share one user turn.
TEST(ChatTemplateTest, ToolCallAndGroupedToolResults) {
  ChatMessage a = ChatMessage::Assistant("I will check.");
  a.reasoning_content = "  The user wants weather. ";
  a.tool_calls = {Call("get_weather", Json{{"city", "Paris"}, {"days", 3}})};
  EXPECT_EQ(Render({ChatMessage::User("Weather in Paris?"), a, ChatMessage::Tool("sunny"),
                    ChatMessage::Tool(" 22C\n")}),
            "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
            "<|im_start|>assistant\n<think>\nThe user wants weather.\n</think>\n\nI will check.\n\n"
            "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
            "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\n22C\n"
            "</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n");
}

// 4: with empty content the first call has no "\n\n"; later calls are joined by "\n"; dict / list
// values as JSON (", " / ": " separators, no ASCII escaping), other scalars through str().
TEST(ChatTemplateTest, SeveralCallsAndArgumentSpelling) {
  ChatMessage a = ChatMessage::Assistant("");
  a.tool_calls = {Call("a", Json::object()),
                  Call("b", Json{{"x", Json{{"k", Json::array({1, 2.5, true})}, {"q", "naïve"}}},
                                 {"flag", true},
                                 {"none", nullptr},
                                 {"text", "two\nlines"}})};
  EXPECT_EQ(Render({ChatMessage::User("go"), a}, {.add_generation_prompt = false}),
            "<|im_start|>user\ngo<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
            "<tool_call>\n<function=a>\n</function>\n</tool_call>\n<tool_call>\n<function=b>\n"
            "<parameter=x>\n{\"k\": [1, 2.5, true], \"q\": \"naïve\"}\n</parameter>\n"
            "<parameter=flag>\nTrue\n</parameter>\n<parameter=none>\nNone\n</parameter>\n"
            "<parameter=text>\ntwo\nlines\n</parameter>\n</function>\n</tool_call><|im_end|>\n");
}

// 2: a user message that is only a <tool_response> is not a query, so the assistant turn before
// it is still after the last query.
TEST(ChatTemplateTest, ToolResponseUserMessageIsNotAQuery) {
  ChatMessage a = ChatMessage::Assistant("<think>\nr\n</think>\n\nA");
  EXPECT_EQ(
      Render(
          {ChatMessage::User("Q"), a, ChatMessage::User(" <tool_response>\nx\n</tool_response> ")},
          {.add_generation_prompt = false}),
      "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nA<|im_end|>\n"
      "<|im_start|>user\n<tool_response>\nx\n</tool_response><|im_end|>\n");
}

// 4: reasoning from content: the part between the last <think> before </think> and </think>,
// newlines stripped; content is what follows the last </think>.
TEST(ChatTemplateTest, ReasoningTakenFromContent) {
  EXPECT_EQ(Render({ChatMessage::User("Q"), ChatMessage::Assistant("abc\n\n</think>\n\n\nanswer")},
                   {.add_generation_prompt = false}),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nabc\n</think>\n\nanswer"
            "<|im_end|>\n");
  // reasoning_content, when given, wins and the content is left as it is.
  ChatMessage a = ChatMessage::Assistant("kept</think>as is");
  a.reasoning_content = "given";
  EXPECT_EQ(Render({ChatMessage::User("Q"), a}, {.add_generation_prompt = false}),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\ngiven\n</think>\n\n"
            "kept</think>as is<|im_end|>\n");
}

// 7: Qwen3.6 preserve_thinking keeps history reasoning; Qwen3.5 has no such switch.
TEST(ChatTemplateTest, PreserveThinkingOnQwen36Only) {
  const std::vector<ChatMessage> m = {ChatMessage::User("Hi"),
                                      ChatMessage::Assistant("<think>old</think>Hello"),
                                      ChatMessage::User("Again")};
  const std::string kept =
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nold\n</think>\n\nHello"
      "<|im_end|>\n<|im_start|>user\nAgain<|im_end|>\n";
  const std::string dropped =
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n"
      "<|im_start|>user\nAgain<|im_end|>\n";
  EXPECT_EQ(Render(m, {.variant = ChatTemplateVariant::kQwen36,
                       .add_generation_prompt = false,
                       .preserve_thinking = true}),
            kept);
  EXPECT_EQ(Render(m, {.variant = ChatTemplateVariant::kQwen36, .add_generation_prompt = false}),
            dropped);
  EXPECT_EQ(Render(m, {.variant = ChatTemplateVariant::kQwen35,
                       .add_generation_prompt = false,
                       .preserve_thinking = true}),
            dropped);
}

// 1 (tools): one system turn with the tools as JSON lines, the instruction block, then the
// trimmed system message after a blank line.
TEST(ChatTemplateTest, ToolsBlockWithSystemMessage) {
  const Json tools = Json::parse(
      R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
          {"type": "function", "function": {"name": "now"}}])");
  const std::string head =
      "<|im_start|>system\n# Tools\n\nYou have access to the following functions:\n\n<tools>\n"
      "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": "
      "\"Weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": "
      "\"string\"}}}}}\n{\"type\": \"function\", \"function\": {\"name\": \"now\"}}\n</tools>";
  EXPECT_EQ(
      Render({ChatMessage::System(" Be brief. "), ChatMessage::User("Hi")},
             {.add_generation_prompt = false}, tools),
      head + kToolsInstructions + "\n\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  // Without a system message, or with an empty one, nothing follows the instructions.
  const std::string bare =
      head + kToolsInstructions + "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n";
  EXPECT_EQ(Render({ChatMessage::User("Hi")}, {.add_generation_prompt = false}, tools), bare);
  EXPECT_EQ(Render({ChatMessage::System("  "), ChatMessage::User("Hi")},
                   {.add_generation_prompt = false}, tools),
            bare);
  // An empty tool list is no tools.
  EXPECT_EQ(Render({ChatMessage::User("Hi")}, {.add_generation_prompt = false}, Json::array()),
            "<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_THAT(std::string(kToolsInstructions), HasSubstr("<IMPORTANT>\nReminder:\n"));
}

// Content rendering: image / video placeholders in order with text; "Picture N: " / "Video N: "
// numbered across the conversation with add_vision_id.
TEST(ChatTemplateTest, ImageAndVideoPlaceholders) {
  const std::vector<ChatMessage> m = {
      Parts("user",
            {ContentPart::Image(), ContentPart::Text("What is this?"), ContentPart::Video()}),
      ChatMessage::Assistant("A cat."),
      Parts("user", {ContentPart::Text("And this? "), ContentPart::Image()})};
  EXPECT_EQ(Render(m, {.add_generation_prompt = false}),
            "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?"
            "<|vision_start|><|video_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\nA cat."
            "<|im_end|>\n<|im_start|>user\nAnd this? <|vision_start|><|image_pad|><|vision_end|>"
            "<|im_end|>\n");
  EXPECT_EQ(
      Render(m, {.add_generation_prompt = false, .add_vision_id = true}),
      "<|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|vision_end|>What is this?"
      "Video 1: <|vision_start|><|video_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\n"
      "A cat.<|im_end|>\n<|im_start|>user\nAnd this? Picture 2: <|vision_start|><|image_pad|>"
      "<|vision_end|><|im_end|>\n");
}

// 5: a tool result whose previous message is not a tool result opens a user turn.
TEST(ChatTemplateTest, ToolResultAfterUserOpensAUserTurn) {
  EXPECT_EQ(
      Render({ChatMessage::User("Q"), ChatMessage::Tool("r")}, {.add_generation_prompt = false}),
      "<|im_start|>user\nQ<|im_end|>\n<|im_start|>user\n<tool_response>\nr\n</tool_response>"
      "<|im_end|>\n");
}

TEST(ChatTemplateTest, TemplateErrorsAreInvalidArgument) {
  const Json no_tools = nullptr;
  auto error = [&](const std::vector<ChatMessage>& m) {
    return RenderChatTemplate(m, no_tools, {});
  };
  EXPECT_THAT(error({}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no messages")));
  EXPECT_THAT(
      error({ChatMessage::User("Hi"), ChatMessage::System("late")}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("messages[1] (role \"system\"): a system message must be the first")));
  EXPECT_THAT(error({ChatMessage::System("s"), ChatMessage::Assistant("a")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no user query found")));
  EXPECT_THAT(error({ChatMessage::User("<tool_response>x</tool_response>")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no user query found")));
  EXPECT_THAT(error({Parts("system", {ContentPart::Image()}), ChatMessage::User("Hi")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot contain images")));
  EXPECT_THAT(error({Parts("system", {ContentPart::Video()}), ChatMessage::User("Hi")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot contain videos")));
  EXPECT_THAT(error({ChatMessage::User("Hi"), ChatMessage{"developer", std::string("x"), {}, {}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("messages[1] (role \"developer\"): unexpected message role")));
  EXPECT_THAT(RenderChatTemplate({ChatMessage::User("Hi")}, Json{{"type", "function"}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tools: expected an array")));
}

TEST(ChatMessageTest, ParsesOpenAiStyleMessages) {
  const Json j = Json::parse(R"([
      {"role": "system", "content": "sys"},
      {"role": "user", "content": [{"type": "text", "text": "Look: "},
                                   {"type": "image_url", "image_url": {"url": "data:..."}},
                                   {"type": "video", "video": "v.mp4"}]},
      {"role": "assistant", "content": null, "reasoning_content": "hmm",
       "tool_calls": [{"type": "function",
                       "function": {"name": "f", "arguments": "{\"b\": 1, \"a\": 2}"}}]},
      {"role": "tool", "content": "ok"}])");
  ASSERT_OK_AND_ASSIGN(std::vector<ChatMessage> m, ParseChatMessages(j));
  ASSERT_EQ(m.size(), 4u);
  const auto& parts = std::get<std::vector<ContentPart>>(m[1].content);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].type, ContentPart::Type::kImage);
  EXPECT_EQ(parts[2].type, ContentPart::Type::kVideo);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(m[2].content));
  ASSERT_EQ(m[2].tool_calls.size(), 1u);
  EXPECT_EQ(m[2].tool_calls[0].arguments.dump(), R"({"b":1,"a":2})");  // order kept
  EXPECT_THAT(ParseChatMessages(Json::parse(R"([{"role": "user", "content": 5}])")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("messages[0].content")));
  EXPECT_THAT(ParseChatMessages(Json::parse(
                  R"([{"role": "assistant", "tool_calls": [{"function": {"arguments": {}}}]}])")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("messages[0].tool_calls[0].function.name: missing")));
  EXPECT_THAT(ParseChatMessages(Json::parse(
                  R"([{"role": "assistant",
               "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}])")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON object")));
}

}  // namespace
}  // namespace tpserve::tokenizer
