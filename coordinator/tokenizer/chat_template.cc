#include "coordinator/tokenizer/chat_template.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/absl_compat.h"
#include "coordinator/tokenizer/py_json.h"
#include "ops/base/status_macros.h"

namespace tpserve::tokenizer {

// The instruction block of the Qwen3.5 / Qwen3.6 template's tools turn. The spec summarises it
// without quoting it ([U]); this wording is the one in two independent public copies of the
// template (a vendored Qwen/Qwen3.5-35B-A3B chat_template.jinja and a port of the Qwen3.6 one),
// which agree word for word. It was not read from an official Qwen file here: check it against
// the chat_template.jinja shipped with the checkpoint.
const char kToolsInstructions[] =
    "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
    "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n"
    "</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\n"
    "that can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\n"
    "Reminder:\n- Function calls MUST follow the specified format: an inner <function=...>"
    "</function> block must be nested within <tool_call></tool_call> XML tags\n- Required "
    "parameters MUST be specified\n- You may provide optional reasoning for your function call in "
    "natural language BEFORE the function call, but NOT after\n- If there is no function call "
    "available, answer the question like normal with your current knowledge and do not tell the "
    "user about function calls\n</IMPORTANT>";

namespace {

constexpr std::string_view kImagePlaceholder = "<|vision_start|><|image_pad|><|vision_end|>";
constexpr std::string_view kVideoPlaceholder = "<|vision_start|><|video_pad|><|vision_end|>";

struct VisionCounts {
  int image = 0;
  int video = 0;
};

absl::Status TemplateError(size_t index, const ChatMessage& m, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("chat template: messages[", index, "] (role \"", m.role, "\"): ", ToAbsl(what)));
}

// The template's render_content macro.
absl::StatusOr<std::string> RenderContent(const ChatMessage& m, size_t index, bool do_vision_count,
                                          bool is_system, const ChatTemplateOptions& options,
                                          VisionCounts* counts) {
  if (const auto* text = std::get_if<std::string>(&m.content)) return *text;
  const auto* parts = std::get_if<std::vector<ContentPart>>(&m.content);
  if (parts == nullptr) return std::string();
  std::string out;
  for (const ContentPart& part : *parts) {
    switch (part.type) {
      case ContentPart::Type::kText:
        out += part.text;
        break;
      case ContentPart::Type::kImage:
        if (is_system) return TemplateError(index, m, "a system message cannot contain images");
        if (do_vision_count) ++counts->image;
        if (options.add_vision_id) absl::StrAppend(&out, "Picture ", counts->image, ": ");
        out += kImagePlaceholder;
        break;
      case ContentPart::Type::kVideo:
        if (is_system) return TemplateError(index, m, "a system message cannot contain videos");
        if (do_vision_count) ++counts->video;
        if (options.add_vision_id) absl::StrAppend(&out, "Video ", counts->video, ": ");
        out += kVideoPlaceholder;
        break;
    }
  }
  return out;
}

std::string_view StripChar(std::string_view s, char c, bool left, bool right) {
  while (left && !s.empty() && s.front() == c) s.remove_prefix(1);
  while (right && !s.empty() && s.back() == c) s.remove_suffix(1);
  return s;
}

bool IsToolResponseWrapped(std::string_view s) {
  constexpr std::string_view kOpen = "<tool_response>", kClose = "</tool_response>";
  return s.substr(0, kOpen.size()) == kOpen && s.size() >= kClose.size() &&
         s.substr(s.size() - kClose.size()) == kClose;
}

absl::Status RenderAssistant(const ChatMessage& m, size_t index, std::string content,
                             bool keep_thinking, std::string* out) {
  std::string reasoning;
  if (m.reasoning_content.has_value()) {
    reasoning = *m.reasoning_content;
  } else if (const size_t close = content.find("</think>"); close != std::string::npos) {
    // content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
    std::string_view before =
        StripChar(std::string_view(content).substr(0, close), '\n', false, true);
    if (const size_t open = before.rfind("<think>"); open != std::string_view::npos) {
      before = before.substr(open + 7);
    }
    reasoning = std::string(StripChar(before, '\n', true, false));
    // content.split('</think>')[-1].lstrip('\n')
    content = std::string(StripChar(std::string_view(content).substr(content.rfind("</think>") + 8),
                                    '\n', true, false));
  }
  reasoning = std::string(PyStrip(reasoning));
  if (keep_thinking) {
    absl::StrAppend(out, "<|im_start|>assistant\n<think>\n", reasoning, "\n</think>\n\n", content);
  } else {
    absl::StrAppend(out, "<|im_start|>assistant\n", content);
  }
  for (size_t j = 0; j < m.tool_calls.size(); ++j) {
    const ToolCall& call = m.tool_calls[j];
    if (j > 0) {
      *out += "\n";
    } else if (!PyStrip(content).empty()) {
      *out += "\n\n";
    }
    absl::StrAppend(out, "<tool_call>\n<function=", call.name, ">\n");
    if (!call.arguments.is_null()) {
      if (!call.arguments.is_object()) {
        return TemplateError(index, m,
                             absl::StrCat("tool_calls[", j, "].arguments must be an object"));
      }
      for (auto it = call.arguments.begin(); it != call.arguments.end(); ++it) {
        const nlohmann::ordered_json& v = it.value();
        absl::StrAppend(out, "<parameter=", it.key(), ">\n",
                        v.is_object() || v.is_array() ? PyJsonDumps(v) : PyStr(v),
                        "\n</parameter>\n");
      }
    }
    *out += "</function>\n</tool_call>";
  }
  *out += "<|im_end|>\n";
  return absl::OkStatus();
}

}  // namespace

bool DefaultThinkingForModel(int64_t num_hidden_layers) { return num_hidden_layers != 24; }

absl::StatusOr<std::string> RenderChatTemplate(absl::Span<const ChatMessage> messages,
                                               const nlohmann::ordered_json& tools,
                                               const ChatTemplateOptions& options) {
  if (messages.empty()) return absl::InvalidArgumentError("chat template: no messages provided");
  if (!tools.is_null() && !tools.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chat template: tools: expected an array of tools, got ", tools.type_name()));
  }
  VisionCounts counts;
  std::string out;
  const ChatMessage& first = messages[0];
  if (tools.is_array() && !tools.empty()) {
    out += "<|im_start|>system\n# Tools\n\nYou have access to the following functions:\n\n<tools>";
    for (const auto& tool : tools) absl::StrAppend(&out, "\n", PyJsonDumps(tool));
    absl::StrAppend(&out, "\n</tools>", kToolsInstructions);
    if (first.role == "system") {
      TPS_ASSIGN_OR_RETURN(std::string content,
                           RenderContent(first, 0, false, true, options, &counts));
      if (std::string_view c = PyStrip(content); !c.empty())
        absl::StrAppend(&out, "\n\n", ToAbsl(c));
    }
    out += "<|im_end|>\n";
  } else if (first.role == "system") {
    TPS_ASSIGN_OR_RETURN(std::string content,
                         RenderContent(first, 0, false, true, options, &counts));
    absl::StrAppend(&out, "<|im_start|>system\n", ToAbsl(PyStrip(content)), "<|im_end|>\n");
  }

  // The last user message that is not just tool output wrapped in <tool_response> tags.
  std::optional<size_t> last_query;
  for (size_t i = messages.size(); i-- > 0 && !last_query.has_value();) {
    if (messages[i].role != "user") continue;
    TPS_ASSIGN_OR_RETURN(std::string content,
                         RenderContent(messages[i], i, false, false, options, &counts));
    if (!IsToolResponseWrapped(PyStrip(content))) last_query = i;
  }
  if (!last_query.has_value()) {
    return absl::InvalidArgumentError(
        "chat template: no user query found in messages (every user message is a tool response)");
  }

  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    TPS_ASSIGN_OR_RETURN(std::string rendered, RenderContent(m, i, true, false, options, &counts));
    std::string content(PyStrip(rendered));
    if (m.role == "system") {
      if (i != 0) return TemplateError(i, m, "a system message must be the first message");
    } else if (m.role == "user") {
      absl::StrAppend(&out, "<|im_start|>user\n", content, "<|im_end|>\n");
    } else if (m.role == "assistant") {
      const bool keep_thinking =
          (options.variant == ChatTemplateVariant::kQwen36 && options.preserve_thinking) ||
          i > *last_query;
      TPS_RETURN_IF_ERROR(RenderAssistant(m, i, std::move(content), keep_thinking, &out));
    } else if (m.role == "tool") {
      if (i > 0 && messages[i - 1].role != "tool") out += "<|im_start|>user";
      absl::StrAppend(&out, "\n<tool_response>\n", content, "\n</tool_response>");
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    } else {
      return TemplateError(i, m,
                           "unexpected message role (expected system, user, assistant or tool)");
    }
  }
  if (options.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    out += options.enable_thinking.value_or(options.default_thinking) ? "<think>\n"
                                                                      : "<think>\n\n</think>\n\n";
  }
  return out;
}

}  // namespace tpserve::tokenizer
