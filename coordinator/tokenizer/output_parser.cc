#include "coordinator/tokenizer/output_parser.h"

#include <algorithm>

#include "coordinator/tokenizer/utf8.h"

namespace tpserve::tokenizer {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kToolCallOpen = "<tool_call>";
constexpr std::string_view kToolCallClose = "</tool_call>";

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The length of the longest suffix of `text` that is a proper, non-empty prefix of `tag`.
size_t PartialTagSuffix(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

// The declared JSON-schema type of parameter `param` of function `name`, or "" when unknown.
std::string DeclaredType(const Json& tools, std::string_view name, std::string_view param) {
  if (!tools.is_array()) return "";
  for (const Json& tool : tools) {
    if (!tool.is_object()) continue;
    const Json* fn = &tool;
    if (auto it = tool.find("function"); it != tool.end() && it->is_object()) fn = &*it;
    auto n = fn->find("name");
    if (n == fn->end() || !n->is_string() || n->get_ref<const std::string&>() != name) continue;
    auto params = fn->find("parameters");
    if (params == fn->end() || !params->is_object()) return "";
    auto props = params->find("properties");
    if (props == params->end() || !props->is_object()) return "";
    auto p = props->find(std::string(param));
    if (p == props->end() || !p->is_object()) return "";
    auto type = p->find("type");
    if (type == p->end()) return "";
    if (type->is_string()) return type->get<std::string>();
    if (type->is_array()) {
      for (const Json& t : *type) {
        if (t.is_string() && t.get_ref<const std::string&>() != "null") return t.get<std::string>();
      }
    }
    return "";
  }
  return "";
}

Json ConvertValue(const std::string& value, const std::string& type) {
  if (type == "string") return value;
  if (value == "null") return nullptr;
  const Json parsed = Json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return value;
  bool ok;
  if (type == "integer" || type == "number") {
    ok = parsed.is_number();
  } else if (type == "boolean") {
    ok = parsed.is_boolean();
  } else if (type == "object") {
    ok = parsed.is_object();
  } else if (type == "array") {
    ok = parsed.is_array();
  } else {
    ok = !parsed.is_string();
  }
  return ok ? parsed : Json(value);
}

}  // namespace

void ParsedOutput::Append(ParsedOutput&& more) {
  reasoning += more.reasoning;
  content += more.content;
  for (ToolCall& c : more.tool_calls) tool_calls.push_back(std::move(c));
}

bool ParseToolCallBlock(std::string_view block, const Json& tools, ToolCall* call) {
  constexpr std::string_view kFunction = "<function=", kFunctionEnd = "</function>";
  constexpr std::string_view kParam = "<parameter=", kParamEnd = "</parameter>";
  const size_t f = block.find(kFunction);
  if (f == std::string_view::npos) return false;
  const size_t name_end = block.find('>', f + kFunction.size());
  if (name_end == std::string_view::npos) return false;
  const std::string_view name =
      TrimSpace(block.substr(f + kFunction.size(), name_end - f - kFunction.size()));
  if (name.empty()) return false;
  size_t body_end = block.find(kFunctionEnd, name_end);
  if (body_end == std::string_view::npos) body_end = block.size();
  const std::string_view body = block.substr(name_end + 1, body_end - name_end - 1);
  call->name = std::string(name);
  call->arguments = Json::object();
  size_t pos = 0;
  while (true) {
    const size_t p = body.find(kParam, pos);
    if (p == std::string_view::npos) break;
    const size_t pname_end = body.find('>', p + kParam.size());
    if (pname_end == std::string_view::npos) break;
    const std::string pname(
        TrimSpace(body.substr(p + kParam.size(), pname_end - p - kParam.size())));
    const size_t value_begin = pname_end + 1;
    size_t value_end = body.find(kParamEnd, value_begin);
    size_t close_len = kParamEnd.size();
    // A missing </parameter>: the value runs to the next parameter or the end of the function.
    if (const size_t next = body.find(kParam, value_begin);
        value_end == std::string_view::npos ||
        (next != std::string_view::npos && next < value_end)) {
      value_end = next == std::string_view::npos ? body.size() : next;
      close_len = 0;
    }
    std::string_view value = body.substr(value_begin, value_end - value_begin);
    if (!value.empty() && value.front() == '\n') value.remove_prefix(1);
    if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
    call->arguments[pname] = ConvertValue(std::string(value), DeclaredType(tools, name, pname));
    pos = value_end + close_len;
  }
  return true;
}

OutputParser::OutputParser(OutputParserOptions options)
    : options_(std::move(options)),
      state_(options_.starts_in_reasoning ? State::kReasoning : State::kStart) {}

ParsedOutput OutputParser::ParseAll(std::string_view text, OutputParserOptions options) {
  OutputParser parser(std::move(options));
  ParsedOutput out = parser.Push(text);
  out.Append(parser.Finish());
  return out;
}

ParsedOutput OutputParser::Push(std::string_view text) {
  ParsedOutput out;
  buffer_.append(text);
  Advance(/*final=*/false, &out);
  return out;
}

ParsedOutput OutputParser::Finish() {
  ParsedOutput out;
  Advance(/*final=*/true, &out);
  return out;
}

void OutputParser::Advance(bool final, ParsedOutput* out) {
  while (true) {
    bool moved = false;
    switch (state_) {
      case State::kStart:
        // Output that opens with <think> (after white space) is reasoning.
        switch (ConsumeThinkOpen(final)) {
          case TagCheck::kWait:
            return;
          case TagCheck::kFound:
            state_ = State::kReasoning;
            break;
          case TagCheck::kAbsent:
            state_ = State::kContent;
            break;
        }
        moved = true;
        break;
      case State::kReasoning:
        moved = EmitReasoning(final, out);
        break;
      case State::kContent:
        moved = EmitContent(final, out);
        break;
      case State::kToolCall:
        moved = EmitToolCall(final, out);
        break;
    }
    if (!moved) return;
  }
}

OutputParser::TagCheck OutputParser::ConsumeThinkOpen(bool final) {
  if (think_checked_) return TagCheck::kAbsent;
  size_t lead = 0;
  while (lead < buffer_.size() && IsSpace(buffer_[lead])) ++lead;
  const std::string_view rest = std::string_view(buffer_).substr(lead);
  if (rest.substr(0, kThinkOpen.size()) == kThinkOpen) {
    buffer_.erase(0, lead + kThinkOpen.size());
    think_checked_ = true;
    return TagCheck::kFound;
  }
  if (!final && rest.size() < kThinkOpen.size() && kThinkOpen.substr(0, rest.size()) == rest) {
    return TagCheck::kWait;
  }
  think_checked_ = true;
  return TagCheck::kAbsent;
}

void OutputParser::AppendText(std::string_view text, std::string* field, bool* at_start,
                              std::string* pending_space) {
  if (!*at_start) {
    while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
    if (text.empty()) return;
    *at_start = true;
  }
  size_t body = text.size();
  while (body > 0 && IsSpace(text[body - 1])) --body;
  if (body == 0) {
    pending_space->append(text);
    return;
  }
  *field += *pending_space;
  field->append(text.substr(0, body));
  pending_space->assign(text.substr(body));
}

bool OutputParser::EmitReasoning(bool final, ParsedOutput* out) {
  // A model that writes its own <think> after the prompt's: drop the tag.
  if (ConsumeThinkOpen(final) == TagCheck::kWait) return false;
  if (const size_t close = buffer_.find(kThinkClose); close != std::string::npos) {
    AppendText(std::string_view(buffer_).substr(0, close), &out->reasoning, &reasoning_started_,
               &pending_space_);
    buffer_.erase(0, close + kThinkClose.size());
    pending_space_.clear();
    state_ = State::kContent;
    return true;
  }
  size_t hold = 0;
  if (!final) {
    hold = std::max(PartialTagSuffix(buffer_, kThinkClose), IncompleteUtf8Suffix(buffer_));
  }
  AppendText(std::string_view(buffer_).substr(0, buffer_.size() - hold), &out->reasoning,
             &reasoning_started_, &pending_space_);
  buffer_.erase(0, buffer_.size() - hold);
  if (final) pending_space_.clear();
  return false;
}

bool OutputParser::EmitContent(bool final, ParsedOutput* out) {
  if (const size_t open = buffer_.find(kToolCallOpen); open != std::string::npos) {
    AppendText(std::string_view(buffer_).substr(0, open), &out->content, &content_started_,
               &pending_space_);
    buffer_.erase(0, open + kToolCallOpen.size());
    pending_space_.clear();
    state_ = State::kToolCall;
    return true;
  }
  size_t hold = 0;
  if (!final) {
    hold = std::max(PartialTagSuffix(buffer_, kToolCallOpen), IncompleteUtf8Suffix(buffer_));
  }
  AppendText(std::string_view(buffer_).substr(0, buffer_.size() - hold), &out->content,
             &content_started_, &pending_space_);
  buffer_.erase(0, buffer_.size() - hold);
  if (final) pending_space_.clear();
  return false;
}

bool OutputParser::EmitToolCall(bool final, ParsedOutput* out) {
  const size_t close = buffer_.find(kToolCallClose);
  if (close == std::string::npos && !final) return false;
  const std::string_view block =
      std::string_view(buffer_).substr(0, close == std::string::npos ? buffer_.size() : close);
  ToolCall call;
  if (ParseToolCallBlock(block, options_.tools, &call)) {
    out->tool_calls.push_back(std::move(call));
  } else {
    std::string raw = std::string(kToolCallOpen) + std::string(block);
    if (close != std::string::npos) raw += kToolCallClose;
    AppendText(raw, &out->content, &content_started_, &pending_space_);
  }
  buffer_.erase(0, close == std::string::npos ? buffer_.size() : close + kToolCallClose.size());
  // Text after a call starts a new run: white space between calls is dropped.
  content_started_ = false;
  pending_space_.clear();
  state_ = State::kContent;
  return true;
}

}  // namespace tpserve::tokenizer
