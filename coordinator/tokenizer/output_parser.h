// Splits a Qwen3.5 / Qwen3.6 completion into reasoning, answer text and tool calls, as text
// streams in (spec §6.2.8; vLLM calls the tool format "qwen3_coder"):
//
//   [reasoning]</think>[content]<tool_call>
//   <function=NAME>
//   <parameter=P>
//   value
//   </parameter>
//   </function>
//   </tool_call>
//
// Choices (documented in README "Tokenizer and chat template"):
//   - The prompt decides where output starts: after "<think>\n" (thinking on) it is reasoning
//     until "</think>"; otherwise it is content. Content that starts with "<think>" switches to
//     reasoning (a model that opens its own think block).
//   - White space at both ends of the reasoning and of each content run is dropped (the template
//     trims both when it writes a turn back), so parsed output renders back to the same prompt.
//   - A stream never shows part of a tag: text that could be the start of "</think>" (reasoning)
//     or "<tool_call>" (content), and trailing white space, is held until it is decided. A tool
//     call is returned once its "</tool_call>" arrives (or at Finish()).
//   - Parameter values lose the one newline the format puts on each side. With tool definitions
//     (OpenAI style, "parameters" JSON schema) a parameter declared "string" stays a string, and
//     "integer" / "number" / "boolean" / "object" / "array" are converted when the text parses as
//     that type. Without a declared type, text that parses as a JSON number, true / false, null,
//     object or array becomes that value; anything else (including a quoted JSON string) stays
//     the raw string.
//   - A tool-call block without "<function=NAME>" is not a call: it is returned as content text.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_OUTPUT_PARSER_H_
#define TPSERVE_COORDINATOR_TOKENIZER_OUTPUT_PARSER_H_

#include <string>
#include <string_view>
#include <vector>

#include "coordinator/tokenizer/chat_message.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

// Parts of a completion (the whole, or what one Push() made final).
struct ParsedOutput {
  std::string reasoning;
  std::string content;
  std::vector<ToolCall> tool_calls;

  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
  void Append(ParsedOutput&& more);
};

struct OutputParserOptions {
  // The prompt ends inside an open think block (the generation prompt with thinking on).
  bool starts_in_reasoning = false;
  // The request's tools (array of {"type": "function", "function": {"name", "parameters"}}), used
  // to type parameter values; null for none.
  nlohmann::ordered_json tools;
};

class OutputParser {
 public:
  explicit OutputParser(OutputParserOptions options);

  // Feeds the next piece of generated text; returns what became final.
  ParsedOutput Push(std::string_view text);
  // The end of the stream: returns everything still held. Push() must not be called after.
  ParsedOutput Finish();

  // Push(text) + Finish() in one call.
  static ParsedOutput ParseAll(std::string_view text, OutputParserOptions options);

 private:
  enum class State { kStart, kReasoning, kContent, kToolCall };
  enum class TagCheck { kWait, kFound, kAbsent };

  void Advance(bool final, ParsedOutput* out);
  // At the very start of the output: consumes a leading "<think>" (after white space).
  TagCheck ConsumeThinkOpen(bool final);
  bool EmitReasoning(bool final, ParsedOutput* out);
  bool EmitContent(bool final, ParsedOutput* out);
  bool EmitToolCall(bool final, ParsedOutput* out);
  void AppendText(std::string_view text, std::string* field, bool* at_start,
                  std::string* pending_space);

  OutputParserOptions options_;
  State state_;
  std::string buffer_;          // text not decided yet
  bool think_checked_ = false;  // the leading-<think> check is done
  bool reasoning_started_ = false;
  bool content_started_ = false;
  std::string pending_space_;  // white space held until non-space text follows
};

// Parses the inside of one <tool_call>...</tool_call> block. False when it has no
// "<function=NAME>".
bool ParseToolCallBlock(std::string_view block, const nlohmann::ordered_json& tools,
                        ToolCall* call);

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_OUTPUT_PARSER_H_
