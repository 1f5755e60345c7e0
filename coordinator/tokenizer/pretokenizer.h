// The pre-tokenizer stage of tokenizer.json: splits normalized text into words that BPE encodes
// one by one. Supported, as Qwen vocabularies use them:
//   Split { pattern: {Regex | String}, behavior: "Isolated", invert: false }
//   ByteLevel { add_prefix_space: false, use_regex: false | true (GPT-2's regex) }
//   Sequence of those.
// ByteLevel must be present (the BPE model here is byte-level); its byte -> character mapping is
// implicit, because BPE works on raw bytes (see bpe.h). Anything else fails closed at load time.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_PRETOKENIZER_H_
#define TPSERVE_COORDINATOR_TOKENIZER_PRETOKENIZER_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/tokenizer/pcre2_regex.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

class PreTokenizer {
 public:
  // `spec` is the "pre_tokenizer" value of tokenizer.json; `path` names it in errors.
  static absl::StatusOr<PreTokenizer> FromJson(const nlohmann::json& spec, std::string_view path);

  // Appends the words of `text` (well-formed UTF-8) as byte spans of `text`, in order. The
  // spans cover `text` exactly. Thread-safe.
  absl::Status Split(std::string_view text, std::vector<MatchSpan>* words) const;

  // The regexes applied, in order (for tests and diagnostics).
  size_t num_splits() const { return regexes_.size(); }

 private:
  std::vector<std::shared_ptr<const Pcre2Regex>> regexes_;  // each splits "Isolated"
};

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_PRETOKENIZER_H_
