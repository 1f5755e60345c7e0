#include "coordinator/output_assembler.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;

tokenizer::DetokenizerOptions DetokenizerOptionsFor(const OutputAssemblerOptions& options) {
  // The detokenizer's default guard (every added token decoded as text, e.g. "</think>") plus
  // the stop strings, so that no piece it returns ends in the first part of a stop string.
  std::vector<std::string> guarded;
  for (const tokenizer::AddedToken& t : options.tokenizer->added_tokens()) {
    if (!t.special) guarded.push_back(t.content);
  }
  for (const std::string& s : options.stop_strings) guarded.push_back(s);
  tokenizer::DetokenizerOptions d;
  d.skip_special_tokens = true;
  d.guarded_strings = std::move(guarded);
  return d;
}

}  // namespace

OutputAssembler::OutputAssembler(OutputAssemblerOptions options)
    : options_(std::move(options)),
      detokenizer_(*options_.tokenizer, DetokenizerOptionsFor(options_)),
      parser_(tokenizer::OutputParserOptions{options_.starts_in_reasoning, options_.tools}),
      in_reasoning_(options_.starts_in_reasoning) {
  usage_.set_prompt_tokens(options_.prompt_tokens);
}

void OutputAssembler::CountId(int32_t id) {
  const bool first = usage_.completion_tokens() == 0;
  usage_.set_completion_tokens(usage_.completion_tokens() + 1);
  if (!in_reasoning_ && first && options_.think_start_id.has_value() &&
      id == *options_.think_start_id) {
    in_reasoning_ = true;
  }
  if (in_reasoning_) {
    usage_.set_reasoning_tokens(usage_.reasoning_tokens() + 1);
    if (options_.think_end_id.has_value() && id == *options_.think_end_id) in_reasoning_ = false;
  }
}

void OutputAssembler::AddParsed(tokenizer::ParsedOutput parsed, pb::Delta* delta) {
  delta->mutable_reasoning()->append(parsed.reasoning);
  delta->mutable_content()->append(parsed.content);
  for (tokenizer::ToolCall& call : parsed.tool_calls) {
    pb::ToolCall* out = delta->add_tool_calls();
    out->set_id(absl::StrCat("call_", options_.request_id, "_", tool_calls_++));
    out->set_name(call.name);
    out->set_arguments_json(
        call.arguments.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }
}

void OutputAssembler::AddText(std::string text, pb::Delta* delta) {
  if (stopped_ || text.empty()) return;
  size_t cut = std::string::npos;
  for (const std::string& stop : options_.stop_strings) {
    const size_t at = text.find(stop);
    if (at < cut) cut = at;
  }
  if (cut != std::string::npos) {
    text.resize(cut);
    stopped_ = true;
  }
  AddParsed(parser_.Push(text), delta);
}

OutputAssembler::Step OutputAssembler::MakeStep(pb::Delta delta, bool finished,
                                                bool stopped_early) const {
  Step step;
  if (!delta.content().empty() || !delta.reasoning().empty() || delta.tool_calls_size() > 0 ||
      delta.token_ids_size() > 0) {
    step.delta = std::move(delta);
  }
  step.finished = finished;
  step.stopped_early = stopped_early;
  return step;
}

absl::StatusOr<OutputAssembler::Step> OutputAssembler::Push(const cpb::GenerateResponse& response) {
  if (finished_) return Step{};
  if (response.prompt_tokens() > 0) usage_.set_prompt_tokens(response.prompt_tokens());
  if (response.cached_tokens() > 0) usage_.set_cached_tokens(response.cached_tokens());
  pb::Delta delta;
  for (int32_t id : response.token_ids()) {
    absl::StatusOr<std::string> piece = detokenizer_.Push(id);
    if (!piece.ok()) {
      return absl::InternalError(absl::StrCat("the replica returned token id ", id,
                                              ", which the model's tokenizer does not know"));
    }
    CountId(id);
    delta.add_token_ids(id);
    AddText(*std::move(piece), &delta);
    if (stopped_) break;
  }
  if (stopped_) {
    AddParsed(parser_.Finish(), &delta);
    finished_ = true;
    finish_reason_ = pb::FINISH_REASON_STOP;
    return MakeStep(std::move(delta), true, true);
  }
  if (!response.done()) return MakeStep(std::move(delta), false, false);
  AddText(detokenizer_.Finish(), &delta);
  AddParsed(parser_.Finish(), &delta);
  finished_ = true;
  if (stopped_) {
    finish_reason_ = pb::FINISH_REASON_STOP;
  } else if (response.finish() == cpb::GenerateResponse::FINISH_LENGTH) {
    finish_reason_ = pb::FINISH_REASON_LENGTH;
  } else {
    finish_reason_ = tool_calls_ > 0 ? pb::FINISH_REASON_TOOL_CALLS : pb::FINISH_REASON_STOP;
  }
  return MakeStep(std::move(delta), true, false);
}

OutputAssembler::Step OutputAssembler::FinishCancelled() {
  if (finished_) return Step{};
  pb::Delta delta;
  AddText(detokenizer_.Finish(), &delta);
  AddParsed(parser_.Finish(), &delta);
  finished_ = true;
  finish_reason_ = pb::FINISH_REASON_CANCELLED;
  return MakeStep(std::move(delta), true, false);
}

pb::Done OutputAssembler::MakeDone(double time_to_first_token_seconds, double total_seconds) const {
  pb::Done done;
  done.set_finish_reason(finish_reason_);
  *done.mutable_usage() = usage_;
  done.set_time_to_first_token_seconds(time_to_first_token_seconds);
  done.set_total_seconds(total_seconds);
  return done;
}

}  // namespace tpserve::coordinator
