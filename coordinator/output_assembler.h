// Turns a leader's stream of sampled ids into the client's stream of deltas: incremental
// detokenisation (UTF-8 safe), stop strings, reasoning / answer / tool-call separation, token
// accounting, and the finish reason.
//
//   OutputAssembler out(options);
//   for each GenerateResponse r:
//     ASSIGN_OR_RETURN(OutputAssembler::Step step, out.Push(r));
//     if (step.delta) send ChatResponse{delta};
//     if (step.finished) { send ChatResponse{out.MakeDone(ttft, total)}; stop reading; }
//
// Stop strings end the output at the earliest occurrence: neither the stop string nor anything
// after it is ever returned (the detokenizer holds back any tail that could still become one),
// and the step reports `stopped_early` so the caller cancels the leader's stream. Stop strings are
// matched on the decoded text before it is split into reasoning and answer.
//
// Finish reasons: a stop string or an end-of-turn id -> STOP, or TOOL_CALLS when the turn produced
// tool calls; max_tokens / the context -> LENGTH. Completion tokens count every id received up to
// the one that completed a stop string; reasoning tokens count the ids up to and including
// </think> when the prompt left a think block open (or the output opened one).
//
// Not thread-safe: one per request, fed in stream order.
#ifndef TPSERVE_COORDINATOR_OUTPUT_ASSEMBLER_H_
#define TPSERVE_COORDINATOR_OUTPUT_ASSEMBLER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/tokenizer/incremental_detokenizer.h"
#include "coordinator/tokenizer/output_parser.h"
#include "coordinator/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "tpserve/cluster/v1/cluster.pb.h"
#include "tpserve/v1/chat.pb.h"

namespace tpserve::coordinator {

struct OutputAssemblerOptions {
  const tokenizer::Tokenizer* tokenizer = nullptr;  // must outlive the assembler
  std::string request_id;                           // for tool-call ids
  std::vector<std::string> stop_strings;
  bool starts_in_reasoning = false;
  nlohmann::ordered_json tools;  // the request's tools (types of tool-call arguments)
  std::optional<int32_t> think_start_id;
  std::optional<int32_t> think_end_id;
  int32_t prompt_tokens = 0;  // used when the leader reports none
};

class OutputAssembler {
 public:
  struct Step {
    std::optional<tpserve::v1::Delta> delta;  // set when there is something to send
    bool finished = false;                    // the Done message is ready (MakeDone)
    bool stopped_early = false;               // a stop string ended it: cancel the leader
  };

  explicit OutputAssembler(OutputAssemblerOptions options);

  // One leader message. InvalidArgument for an id the tokenizer does not know. Messages after the
  // finishing one are ignored (an empty step).
  absl::StatusOr<Step> Push(const tpserve::cluster::v1::GenerateResponse& response);
  // Ends the output as cancelled by the leader (a Done with FINISH_REASON_CANCELLED follows).
  Step FinishCancelled();

  // The final message; valid once a step reported `finished`.
  tpserve::v1::Done MakeDone(double time_to_first_token_seconds, double total_seconds) const;

  bool finished() const { return finished_; }
  tpserve::v1::FinishReason finish_reason() const { return finish_reason_; }
  const tpserve::v1::Usage& usage() const { return usage_; }

 private:
  // Decoded text: cut at a stop string, then split by the parser into `delta`.
  void AddText(std::string text, tpserve::v1::Delta* delta);
  void AddParsed(tokenizer::ParsedOutput parsed, tpserve::v1::Delta* delta);
  void CountId(int32_t id);
  Step MakeStep(tpserve::v1::Delta delta, bool finished, bool stopped_early) const;

  OutputAssemblerOptions options_;
  tokenizer::IncrementalDetokenizer detokenizer_;
  tokenizer::OutputParser parser_;
  bool in_reasoning_;
  bool stopped_ = false;   // a stop string was found
  bool finished_ = false;  // the final step was returned
  int tool_calls_ = 0;
  tpserve::v1::FinishReason finish_reason_ = tpserve::v1::FINISH_REASON_UNSPECIFIED;
  tpserve::v1::Usage usage_;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_OUTPUT_ASSEMBLER_H_
