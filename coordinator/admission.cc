#include "coordinator/admission.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/request_validation.h"
#include "coordinator/tokenizer/chat_message.h"
#include "coordinator/tokenizer/chat_template.h"
#include "ops/base/echo.h"
#include "ops/base/status_macros.h"
#include "vision/image_limits.h"
#include "vision/image_source.h"
#include "vision/mrope_positions.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;
using Json = nlohmann::ordered_json;

// Already validated as empty or a JSON object.
Json ParseObject(const std::string& text) {
  if (text.empty()) return Json::object();
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : Json::object();
}

// How caller text reaches the template: made literal (every added-token string in it is plain
// text) unless the request asks for special_tokens_in_text. Only the template's own markers are
// then control tokens, so a message cannot open a turn, forge a role or an image placeholder.
class CallerText {
 public:
  // `tok` null: text passes unchanged (special_tokens_in_text).
  explicit CallerText(const tokenizer::Tokenizer* tok) : tok_(tok) {}
  std::string operator()(const std::string& text,
                         absl::Span<const std::string_view> keep = {}) const {
    return tok_ == nullptr ? text : tok_->EscapeAddedTokens(text, keep);
  }
  // Every string in `j` (keys included), recursively.
  Json Tree(const Json& j) const {
    if (tok_ == nullptr) return j;
    if (j.is_string()) return (*this)(j.get<std::string>());
    if (j.is_array()) {
      Json out = Json::array();
      for (const auto& v : j) out.push_back(Tree(v));
      return out;
    }
    if (j.is_object()) {
      Json out = Json::object();
      for (auto it = j.begin(); it != j.end(); ++it) out[(*this)(it.key())] = Tree(it.value());
      return out;
    }
    return j;
  }

 private:
  const tokenizer::Tokenizer* tok_;
};

// The template itself looks for these in assistant content (the reasoning split), so there they
// keep their meaning.
constexpr std::string_view kThinkMarkers[] = {"<think>", "</think>"};

std::vector<tokenizer::ChatMessage> ToTemplateMessages(const pb::ChatRequest& request,
                                                       const CallerText& literal) {
  std::vector<tokenizer::ChatMessage> out;
  out.reserve(static_cast<size_t>(request.messages_size()));
  for (const pb::Message& m : request.messages()) {
    tokenizer::ChatMessage t;
    t.role = m.role();
    const bool assistant = m.role() == "assistant";
    if (m.content_size() > 0) {
      std::vector<tokenizer::ContentPart> parts;
      for (const pb::ContentPart& part : m.content()) {
        parts.push_back(
            part.has_image()
                ? tokenizer::ContentPart::Image()
                : tokenizer::ContentPart::Text(literal(
                      part.text(), assistant ? absl::Span<const std::string_view>(kThinkMarkers)
                                             : absl::Span<const std::string_view>())));
      }
      t.content = std::move(parts);
    }
    // proto3 cannot tell an empty reasoning from none; empty means "take it from the content".
    if (!m.reasoning_content().empty()) t.reasoning_content = literal(m.reasoning_content());
    for (const pb::ToolCall& call : m.tool_calls()) {
      t.tool_calls.push_back(
          {literal(call.name()), literal.Tree(ParseObject(call.arguments_json()))});
    }
    out.push_back(std::move(t));
  }
  return out;
}

// OpenAI-style tool objects, as the template writes them and the output parser reads them.
Json ToolsJson(const pb::ChatRequest& request) {
  Json tools = Json::array();
  for (const pb::Tool& tool : request.tools()) {
    Json fn = Json::object();
    fn["name"] = tool.name();
    if (!tool.description().empty()) fn["description"] = tool.description();
    if (!tool.parameters_json().empty()) fn["parameters"] = ParseObject(tool.parameters_json());
    Json t = Json::object();
    t["type"] = "function";
    t["function"] = std::move(fn);
    tools.push_back(std::move(t));
  }
  return tools;
}

cpb::SamplingParams ToSampling(const pb::SamplingParams& s, const GenerationDefaults& d) {
  cpb::SamplingParams out;
  out.set_temperature(s.has_temperature() ? s.temperature() : d.temperature);
  out.set_top_k(s.has_top_k() ? s.top_k() : d.top_k);
  out.set_top_p(s.has_top_p() ? s.top_p() : d.top_p);
  out.set_min_p(s.has_min_p() ? s.min_p() : d.min_p);
  out.set_repetition_penalty(s.has_repetition_penalty() ? s.repetition_penalty()
                                                        : d.repetition_penalty);
  if (s.has_seed()) out.set_seed(s.seed());
  return out;
}

// The request's images in prompt order (encoded bytes) and their token counts. A `data:` URI is
// decoded here; any other URL is refused, never fetched.
struct RequestImages {
  std::vector<std::string> bytes;
  std::vector<int64_t> tokens;
};

absl::StatusOr<RequestImages> CollectImages(const pb::ChatRequest& request, const ModelEntry& entry,
                                            const ImageTokenCounter* counter) {
  RequestImages out;
  for (int i = 0; i < request.messages_size(); ++i) {
    const pb::Message& m = request.messages(i);
    for (int j = 0; j < m.content_size(); ++j) {
      if (!m.content(j).has_image()) continue;
      const std::string field = absl::StrCat("messages[", i, "].content[", j, "].image");
      if (!entry.HasCapability("vision")) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ": model '", entry.name,
            "' has no vision tower (capabilities: ", absl::StrJoin(entry.capabilities, ", "), ")"));
      }
      if (counter == nullptr) {
        return absl::UnimplementedError(absl::StrCat(field, ": this coordinator counts no images"));
      }
      const pb::Image& image = m.content(j).image();
      std::string bytes;
      if (image.has_uri()) {
        absl::StatusOr<std::string> decoded =
            vision::ImageBytesFromUrl(image.uri(), counter->limits().max_encoded_bytes);
        if (!decoded.ok())
          return absl::InvalidArgumentError(absl::StrCat(field, ": ", decoded.status().message()));
        bytes = *std::move(decoded);
      } else {
        bytes = image.data();
      }
      absl::StatusOr<int64_t> tokens = counter->CountImageTokens(bytes, entry.path);
      if (!tokens.ok()) {
        return absl::Status(tokens.status().code() == absl::StatusCode::kResourceExhausted
                                ? absl::StatusCode::kInvalidArgument
                                : tokens.status().code(),
                            absl::StrCat(field, ": ", tokens.status().message()));
      }
      out.bytes.push_back(std::move(bytes));
      out.tokens.push_back(*tokens);
    }
  }
  if (counter != nullptr && !out.bytes.empty()) {
    absl::Status count =
        vision::CheckImageCount(static_cast<int64_t>(out.bytes.size()), counter->limits());
    if (!count.ok()) return absl::InvalidArgumentError(absl::StrCat("messages: ", count.message()));
  }
  return out;
}

}  // namespace

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("chat-%016x", rng());
}

Admission::Admission(Catalogue& catalogue, const Membership& membership,
                     const ImageTokenCounter* image_counter)
    : catalogue_(catalogue), membership_(membership), image_counter_(image_counter) {}

int32_t Admission::ContextLength(const ModelEntry& entry) const {
  int64_t context = entry.spec.text.max_position_embeddings;
  const int32_t reported = membership_.MinReportedContext(entry.name);
  if (reported > 0) context = std::min<int64_t>(context, reported);
  return static_cast<int32_t>(std::min<int64_t>(context, INT32_MAX));
}

absl::StatusOr<AdmittedRequest> Admission::Admit(const pb::ChatRequest& request) const {
  TPS_RETURN_IF_ERROR(ValidateChatRequestFields(request));
  std::optional<ModelEntry> entry = catalogue_.Find(request.model());
  if (!entry.has_value()) {
    const std::vector<std::string> names = catalogue_.Names();
    return absl::NotFoundError(absl::StrCat(
        "model: ", EchoValue(request.model()),
        " not found (available: ", names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
  }
  TPS_ASSIGN_OR_RETURN(RequestImages images, CollectImages(request, *entry, image_counter_));
  TPS_ASSIGN_OR_RETURN(std::shared_ptr<const ModelAssets> assets, catalogue_.Assets(entry->name));

  AdmittedRequest out;
  out.model = entry->name;
  out.assets = assets;
  out.context_length = ContextLength(*entry);
  if (request.max_tokens() > out.context_length) {
    return absl::InvalidArgumentError(absl::StrCat("max_tokens: ", request.max_tokens(),
                                                   " is above the context length of model '",
                                                   entry->name, "' (", out.context_length, ")"));
  }

  tokenizer::ChatTemplateOptions options;
  options.variant = assets->template_variant;
  if (request.has_enable_thinking()) options.enable_thinking = request.enable_thinking();
  options.default_thinking = assets->default_thinking;
  options.preserve_thinking = request.preserve_thinking();
  out.tools = ToolsJson(request);
  const CallerText literal(request.special_tokens_in_text() ? nullptr : assets->tokenizer.get());
  TPS_ASSIGN_OR_RETURN(std::string prompt,
                       tokenizer::RenderChatTemplate(ToTemplateMessages(request, literal),
                                                     literal.Tree(out.tools), options));
  TPS_ASSIGN_OR_RETURN(std::vector<int32_t> ids, assets->tokenizer->EncodeWithLiterals(prompt));
  if (!images.bytes.empty()) {
    // The template wrote one <|image_pad|> per image; the prompt needs each image's full count.
    absl::StatusOr<std::vector<int32_t>> expanded =
        vision::ExpandImagePlaceholders(ids, assets->spec.image_token_id, images.tokens);
    if (!expanded.ok())
      return absl::InvalidArgumentError(absl::StrCat("messages: ", expanded.status().message()));
    ids = *std::move(expanded);
  }
  const auto prompt_tokens = static_cast<int64_t>(ids.size());
  if (prompt_tokens >= out.context_length) {
    return absl::InvalidArgumentError(absl::StrCat("messages: prompt has ", prompt_tokens,
                                                   " tokens, the context length of ", entry->name,
                                                   " is ", out.context_length));
  }
  if (prompt_tokens + request.max_tokens() > out.context_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_tokens: the prompt has ", prompt_tokens, " tokens and max_tokens is ",
        request.max_tokens(), "; together they are above the context length of ", entry->name, " (",
        out.context_length, "); ask for at most ", out.context_length - prompt_tokens));
  }
  for (int32_t id : ids) {
    if (id >= assets->spec.text.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("messages: the prompt has token id ", id,
                                                     ", outside the model's vocabulary (",
                                                     assets->spec.text.vocab_size, ")"));
    }
  }

  const bool thinking = options.enable_thinking.value_or(options.default_thinking);
  out.request_id = request.request_id().empty() ? NewRequestId() : request.request_id();
  out.prompt_tokens = static_cast<int32_t>(prompt_tokens);
  out.starts_in_reasoning = thinking;
  out.stop_strings.assign(request.stop().begin(), request.stop().end());
  out.route = RouteRequest{entry->name, request.session_id(), request.priority()};

  cpb::GenerateRequest& g = out.generate;
  g.set_request_id(out.request_id);
  g.mutable_prompt_ids()->Assign(ids.begin(), ids.end());
  *g.mutable_sampling() = ToSampling(request.sampling(), assets->generation_defaults);
  g.set_max_tokens(request.max_tokens());
  g.mutable_stop_token_ids()->Assign(assets->stop_token_ids.begin(), assets->stop_token_ids.end());
  for (const TokenIdRange& r : assets->allowed_tokens) {
    cpb::TokenRange* range = g.add_allowed_tokens();
    range->set_begin(r.begin);
    range->set_end(r.end);
  }
  for (std::string& bytes : images.bytes) g.add_images(std::move(bytes));
  g.set_priority(request.priority());
  g.set_in_thinking(thinking);
  if (thinking && request.thinking_budget() > 0 && assets->think_end_id.has_value()) {
    g.set_thinking_budget(request.thinking_budget());
    g.set_think_end_token_id(*assets->think_end_id);
  }
  return out;
}

}  // namespace tpserve::coordinator
