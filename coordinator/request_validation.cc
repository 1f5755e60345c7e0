#include "coordinator/request_validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/utf8.h"
#include "nlohmann/json.hpp"
#include "ops/base/echo.h"
#include "ops/base/sampling_bounds.h"
#include "ops/base/status_macros.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status Utf8(const std::string& text, const std::string& field) {
  return tokenizer::ValidateUtf8(text, field);
}

// Valid UTF-8 of at most `max_bytes` (checked first: a bound is cheap, and the error then names
// the size rather than quoting the value).
absl::Status BoundedUtf8(const std::string& text, const std::string& field, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Invalid(field, absl::StrCat("at most ", max_bytes, " bytes, got ", text.size()));
  }
  return Utf8(text, field);
}

// Empty is allowed (no arguments / no schema); otherwise a JSON object.
absl::Status JsonObject(const std::string& text, const std::string& field) {
  TPS_RETURN_IF_ERROR(Utf8(text, field));
  if (text.empty()) return absl::OkStatus();
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid(field, "not valid JSON");
  if (!j.is_object())
    return Invalid(field, absl::StrCat("expected a JSON object, got ", j.type_name()));
  return absl::OkStatus();
}

absl::Status ValidateMessage(const pb::Message& m, const std::string& at) {
  if (m.role() != "system" && m.role() != "user" && m.role() != "assistant" && m.role() != "tool") {
    TPS_RETURN_IF_ERROR(BoundedUtf8(m.role(), at + ".role", kMaxNameBytes));
    return Invalid(
        at + ".role",
        absl::StrCat(m.role().empty() ? "missing role" : "unknown role " + EchoValue(m.role()),
                     " (expected system, user, assistant or tool)"));
  }
  for (int j = 0; j < m.content_size(); ++j) {
    const pb::ContentPart& part = m.content(j);
    const std::string field = absl::StrCat(at, ".content[", j, "]");
    switch (part.part_case()) {
      case pb::ContentPart::kText:
        TPS_RETURN_IF_ERROR(Utf8(part.text(), field + ".text"));
        break;
      case pb::ContentPart::kImage: {
        const pb::Image& image = part.image();
        if (m.role() == "system") return Invalid(field, "a system message cannot contain images");
        if (image.source_case() == pb::Image::kUri) {
          TPS_RETURN_IF_ERROR(Utf8(image.uri(), field + ".image.uri"));
          if (image.uri().rfind("data:", 0) != 0) {
            return Invalid(field + ".image.uri",
                           "only data: URIs are accepted; remote URLs are never fetched");
          }
        } else if (image.source_case() != pb::Image::kData || image.data().empty()) {
          return Invalid(field + ".image", "empty image (set data or a data: uri)");
        }
        break;
      }
      case pb::ContentPart::PART_NOT_SET:
        return Invalid(field, "empty content part (set text or image)");
    }
  }
  TPS_RETURN_IF_ERROR(Utf8(m.reasoning_content(), at + ".reasoning_content"));
  TPS_RETURN_IF_ERROR(BoundedUtf8(m.tool_call_id(), at + ".tool_call_id", kMaxNameBytes));
  TPS_RETURN_IF_ERROR(BoundedUtf8(m.name(), at + ".name", kMaxNameBytes));
  if (m.tool_calls_size() > 0 && m.role() != "assistant") {
    return Invalid(at + ".tool_calls", "only assistant messages carry tool calls");
  }
  for (int j = 0; j < m.tool_calls_size(); ++j) {
    const pb::ToolCall& call = m.tool_calls(j);
    const std::string field = absl::StrCat(at, ".tool_calls[", j, "]");
    TPS_RETURN_IF_ERROR(BoundedUtf8(call.id(), field + ".id", kMaxNameBytes));
    TPS_RETURN_IF_ERROR(BoundedUtf8(call.name(), field + ".name", kMaxNameBytes));
    if (call.name().empty()) return Invalid(field + ".name", "required");
    TPS_RETURN_IF_ERROR(JsonObject(call.arguments_json(), field + ".arguments_json"));
  }
  return absl::OkStatus();
}

// The request's own sampling fields (the unset ones take generation_config.json's defaults, which
// LoadModelAssets checked); the bounds are those every worker applies (ops/base/sampling_bounds.h).
absl::Status ValidateSampling(const pb::SamplingParams& s) {
  SamplingFields f;
  if (s.has_temperature()) f.temperature = s.temperature();
  if (s.has_top_k()) f.top_k = s.top_k();
  if (s.has_top_p()) f.top_p = s.top_p();
  if (s.has_min_p()) f.min_p = s.min_p();
  if (s.has_repetition_penalty()) f.repetition_penalty = s.repetition_penalty();
  return ValidateSamplingFields(f, "sampling.");
}

}  // namespace

absl::Status ValidateChatRequestFields(const pb::ChatRequest& request) {
  TPS_RETURN_IF_ERROR(BoundedUtf8(request.model(), "model", kMaxNameBytes));
  if (request.model().empty()) return Invalid("model", "required (see ListModels)");
  TPS_RETURN_IF_ERROR(BoundedUtf8(request.request_id(), "request_id", kMaxIdBytes));
  TPS_RETURN_IF_ERROR(BoundedUtf8(request.session_id(), "session_id", kMaxIdBytes));
  if (request.messages_size() == 0) return Invalid("messages", "at least one message is required");
  for (int i = 0; i < request.messages_size(); ++i) {
    TPS_RETURN_IF_ERROR(ValidateMessage(request.messages(i), absl::StrCat("messages[", i, "]")));
  }
  if (request.max_tokens() <= 0) {
    return Invalid("max_tokens", absl::StrCat("must be > 0, got ", request.max_tokens()));
  }
  TPS_RETURN_IF_ERROR(ValidateSampling(request.sampling()));
  if (request.stop_size() > kMaxStopStrings) {
    return Invalid("stop", absl::StrCat("at most ", kMaxStopStrings, " stop strings, got ",
                                        request.stop_size()));
  }
  for (int i = 0; i < request.stop_size(); ++i) {
    const std::string field = absl::StrCat("stop[", i, "]");
    TPS_RETURN_IF_ERROR(Utf8(request.stop(i), field));
    if (request.stop(i).empty() || request.stop(i).size() > kMaxStopStringBytes) {
      return Invalid(field, absl::StrCat("must have 1 to ", kMaxStopStringBytes, " bytes"));
    }
  }
  if (request.thinking_budget() < 0) {
    return Invalid("thinking_budget",
                   absl::StrCat("must be >= 0 (0 = no budget), got ", request.thinking_budget()));
  }
  for (int i = 0; i < request.tools_size(); ++i) {
    const pb::Tool& tool = request.tools(i);
    const std::string at = absl::StrCat("tools[", i, "]");
    TPS_RETURN_IF_ERROR(BoundedUtf8(tool.name(), at + ".name", kMaxNameBytes));
    if (tool.name().empty()) return Invalid(at + ".name", "required");
    TPS_RETURN_IF_ERROR(
        BoundedUtf8(tool.description(), at + ".description", kMaxToolDescriptionBytes));
    TPS_RETURN_IF_ERROR(JsonObject(tool.parameters_json(), at + ".parameters_json"));
  }
  return absl::OkStatus();
}

}  // namespace tpserve::coordinator
