// Renders chat-template cases for tools/tokenizer/check_chat_template.py: reads a JSON array of
// {"messages": [...], "tools": [...]?, "enable_thinking": bool?, "add_vision_id": bool?,
//  "add_generation_prompt": bool?, "default_thinking": bool?, "qwen36": bool?,
//  "preserve_thinking": bool?} on stdin and prints a JSON array with, per case, the prompt text
// or "ERROR" (the template's error cases; the message goes to stderr).
#include <iostream>
#include <iterator>
#include <string>

#include "coordinator/tokenizer/chat_template.h"

int main() {
  using Json = nlohmann::ordered_json;
  using namespace tpserve::tokenizer;
  const std::string input(std::istreambuf_iterator<char>(std::cin), {});
  const Json cases = Json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!cases.is_array()) {
    std::cerr << "expected a JSON array of cases on stdin\n";
    return 2;
  }
  Json out = Json::array();
  for (const Json& c : cases) {
    if (!c.is_object() || !c.contains("messages")) {
      std::cerr << "a case needs \"messages\"\n";
      return 2;
    }
    absl::StatusOr<std::vector<ChatMessage>> messages = ParseChatMessages(c["messages"]);
    if (!messages.ok()) {
      std::cerr << messages.status().ToString() << "\n";
      out.push_back("ERROR");
      continue;
    }
    ChatTemplateOptions options;
    auto flag = [&](const char* key, bool fallback) {
      return c.contains(key) && c[key].is_boolean() ? c[key].get<bool>() : fallback;
    };
    if (c.contains("enable_thinking")) options.enable_thinking = flag("enable_thinking", true);
    options.default_thinking = flag("default_thinking", true);
    options.add_vision_id = flag("add_vision_id", false);
    options.add_generation_prompt = flag("add_generation_prompt", true);
    options.preserve_thinking = flag("preserve_thinking", false);
    if (flag("qwen36", false)) options.variant = ChatTemplateVariant::kQwen36;
    absl::StatusOr<std::string> text =
        RenderChatTemplate(*messages, c.contains("tools") ? c["tools"] : Json(nullptr), options);
    if (!text.ok()) std::cerr << text.status().ToString() << "\n";
    out.push_back(text.ok() ? Json(*text) : Json("ERROR"));
  }
  std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << std::endl;
  return 0;
}
