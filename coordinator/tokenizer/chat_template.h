// The Qwen3.5 / Qwen3.6 chat template, rendered natively (no C++ Jinja engine is packaged for
// Debian). It writes what the model's chat_template.jinja writes under transformers' Jinja
// settings (spec §6.2), branch for branch:
//   - an optional tools system turn ("# Tools" ... <tools> JSON lines </tools> + the XML call
//     instructions), with a leading system message appended after a blank line; otherwise a
//     leading system message is a plain system turn;
//   - user turns; assistant turns with <think>reasoning</think> only after the last real user
//     query (or always with preserve_thinking on Qwen3.6), tool calls as <tool_call> XML;
//   - consecutive tool results grouped into one user turn of <tool_response> blocks;
//   - image / video placeholders, "Picture N: " / "Video N: " with add_vision_id;
//   - the generation prompt with the think block open (thinking on) or closed (off).
// The template's own errors (no messages, system message not first, no user query, images or
// videos in a system message, unknown role) are InvalidArgument with the template's meaning.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_CHAT_TEMPLATE_H_
#define TPSERVE_COORDINATOR_TOKENIZER_CHAT_TEMPLATE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "coordinator/tokenizer/chat_message.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

enum class ChatTemplateVariant {
  kQwen35,  // Qwen3.5 (all sizes)
  kQwen36,  // Qwen3.6: also honours preserve_thinking
};

struct ChatTemplateOptions {
  ChatTemplateVariant variant = ChatTemplateVariant::kQwen35;
  bool add_generation_prompt = true;
  // The request's choice; unset means the model's default (`default_thinking`).
  std::optional<bool> enable_thinking;
  // The model's default: off for Qwen3.5-0.8B and 2B, on for 4B and larger (spec §6.2.6).
  bool default_thinking = true;
  // Qwen3.6 only: keep the <think> block of every assistant turn, not just the ones after the
  // last user query. Ignored for kQwen35 (its template has no such switch).
  bool preserve_thinking = false;
  // Write "Picture N: " / "Video N: " before each image / video placeholder.
  bool add_vision_id = false;
};

// The prompt text for `messages`. `tools` is the request's tool list (an array of tool objects,
// each written as JSON on its own line, keys in the given order) or null / empty for none.
absl::StatusOr<std::string> RenderChatTemplate(absl::Span<const ChatMessage> messages,
                                               const nlohmann::ordered_json& tools,
                                               const ChatTemplateOptions& options);

// The thinking default of a Qwen3.5 text model from its shape, with llama.cpp's size rule:
// 24 layers (0.8B, 2B) defaults to off, anything else (4B, 9B, 27B) to on.
bool DefaultThinkingForModel(int64_t num_hidden_layers);

// The fixed instruction block of the tools system turn (after "</tools>").
extern const char kToolsInstructions[];

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_CHAT_TEMPLATE_H_
