// The messages of a chat request, as the Qwen chat template reads them (OpenAI-style): a role,
// content that is a string, a list of parts (text, image, video) or nothing, an assistant's
// optional reasoning and tool calls.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_CHAT_MESSAGE_H_
#define TPSERVE_COORDINATOR_TOKENIZER_CHAT_MESSAGE_H_

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

struct ContentPart {
  enum class Type { kText, kImage, kVideo };
  Type type = Type::kText;
  std::string text;  // kText only

  static ContentPart Text(std::string t) { return {Type::kText, std::move(t)}; }
  static ContentPart Image() { return {Type::kImage, {}}; }
  static ContentPart Video() { return {Type::kVideo, {}}; }
};

// A function call: its name and its arguments in the order given (an object).
struct ToolCall {
  std::string name;
  nlohmann::ordered_json arguments = nlohmann::ordered_json::object();

  friend bool operator==(const ToolCall&, const ToolCall&) = default;
};

struct ChatMessage {
  // "system", "user", "assistant" or "tool"; the template rejects anything else.
  std::string role;
  // No content (null), a string, or a list of parts.
  std::variant<std::monostate, std::string, std::vector<ContentPart>> content;
  // Assistant only: reasoning given separately (else taken from <think>...</think> in content).
  std::optional<std::string> reasoning_content;
  // Assistant only.
  std::vector<ToolCall> tool_calls;

  static ChatMessage System(std::string text) { return {"system", std::move(text), {}, {}}; }
  static ChatMessage User(std::string text) { return {"user", std::move(text), {}, {}}; }
  static ChatMessage Assistant(std::string text) { return {"assistant", std::move(text), {}, {}}; }
  static ChatMessage Tool(std::string text) { return {"tool", std::move(text), {}, {}}; }
};

// Reads OpenAI-style chat messages: [{"role": ..., "content": "..." | [{"type": "text", "text":
// ...}, {"type": "image" | "image_url", ...}, {"type": "video", ...}] | null, "reasoning_content":
// ..., "tool_calls": [{"function": {"name": ..., "arguments": {...} or "{...}"}}]}]. Arguments
// given as a JSON string are parsed (they must be an object). InvalidArgument names the field,
// e.g. "messages[2].tool_calls[0].function.name: missing".
absl::StatusOr<std::vector<ChatMessage>> ParseChatMessages(const nlohmann::ordered_json& messages);

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_CHAT_MESSAGE_H_
