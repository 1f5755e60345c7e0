#include "coordinator/tokenizer/chat_message.h"

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/utf8.h"
#include "ops/base/status_macros.h"

namespace tpserve::tokenizer {
namespace {

using Json = nlohmann::ordered_json;

absl::Status Invalid(const std::string& path, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": ", absl::string_view(what.data(), what.size())));
}

absl::StatusOr<std::string> ReadString(const Json& v, const std::string& path) {
  if (!v.is_string()) return Invalid(path, absl::StrCat("expected a string, got ", v.type_name()));
  std::string s = v.get<std::string>();
  TPS_RETURN_IF_ERROR(ValidateUtf8(s, path));
  return s;
}

// The template's test for a part: 'image' in item or 'image_url' in item or item.type == 'image',
// then 'video' in item or item.type == 'video', then 'text' in item.
absl::StatusOr<ContentPart> ReadPart(const Json& item, const std::string& path) {
  if (!item.is_object()) return Invalid(path, "expected an object");
  const auto type = item.find("type");
  const std::string type_name =
      type != item.end() && type->is_string() ? type->get<std::string>() : "";
  if (item.contains("image") || item.contains("image_url") || type_name == "image") {
    return ContentPart::Image();
  }
  if (item.contains("video") || type_name == "video") return ContentPart::Video();
  if (item.contains("text")) {
    TPS_ASSIGN_OR_RETURN(std::string text, ReadString(*item.find("text"), path + ".text"));
    return ContentPart::Text(std::move(text));
  }
  return Invalid(path, "expected a text, image or video part");
}

absl::StatusOr<ToolCall> ReadToolCall(const Json& call, const std::string& path) {
  if (!call.is_object()) return Invalid(path, "expected an object");
  const Json* fn = &call;
  std::string fn_path = path;
  if (auto it = call.find("function"); it != call.end()) {
    fn = &*it;
    fn_path = path + ".function";
    if (!fn->is_object()) return Invalid(fn_path, "expected an object");
  }
  ToolCall out;
  auto name = fn->find("name");
  if (name == fn->end()) return Invalid(fn_path + ".name", "missing");
  TPS_ASSIGN_OR_RETURN(out.name, ReadString(*name, fn_path + ".name"));
  auto args = fn->find("arguments");
  if (args == fn->end() || args->is_null()) return out;
  const std::string args_path = fn_path + ".arguments";
  if (args->is_string()) {
    Json parsed = Json::parse(args->get<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return Invalid(args_path, "a string must hold a JSON object");
    }
    out.arguments = std::move(parsed);
  } else if (args->is_object()) {
    out.arguments = *args;
  } else {
    return Invalid(args_path, absl::StrCat("expected an object, got ", args->type_name()));
  }
  return out;
}

absl::StatusOr<ChatMessage> ReadMessage(const Json& m, const std::string& path) {
  if (!m.is_object()) return Invalid(path, "expected an object");
  ChatMessage out;
  auto role = m.find("role");
  if (role == m.end()) return Invalid(path + ".role", "missing");
  TPS_ASSIGN_OR_RETURN(out.role, ReadString(*role, path + ".role"));
  if (auto content = m.find("content"); content != m.end() && !content->is_null()) {
    const std::string content_path = path + ".content";
    if (content->is_string()) {
      TPS_ASSIGN_OR_RETURN(std::string text, ReadString(*content, content_path));
      out.content = std::move(text);
    } else if (content->is_array()) {
      std::vector<ContentPart> parts;
      for (size_t i = 0; i < content->size(); ++i) {
        TPS_ASSIGN_OR_RETURN(ContentPart part,
                             ReadPart((*content)[i], absl::StrCat(content_path, "[", i, "]")));
        parts.push_back(std::move(part));
      }
      out.content = std::move(parts);
    } else {
      return Invalid(content_path, "expected a string, an array of parts or null");
    }
  }
  if (auto r = m.find("reasoning_content"); r != m.end() && !r->is_null()) {
    TPS_ASSIGN_OR_RETURN(out.reasoning_content, ReadString(*r, path + ".reasoning_content"));
  }
  if (auto calls = m.find("tool_calls"); calls != m.end() && !calls->is_null()) {
    if (!calls->is_array()) return Invalid(path + ".tool_calls", "expected an array");
    for (size_t i = 0; i < calls->size(); ++i) {
      TPS_ASSIGN_OR_RETURN(ToolCall call,
                           ReadToolCall((*calls)[i], absl::StrCat(path, ".tool_calls[", i, "]")));
      out.tool_calls.push_back(std::move(call));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ChatMessage>> ParseChatMessages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array()) return Invalid("messages", "expected an array");
  std::vector<ChatMessage> out;
  out.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    TPS_ASSIGN_OR_RETURN(ChatMessage m,
                         ReadMessage(messages[i], absl::StrCat("messages[", i, "]")));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace tpserve::tokenizer
