// The text of `tpserve inspect --model DIR`: what the config describes and how much memory a
// replica needs. Formatting only; the caller parses the config and computes the estimate.
//
//   ASSIGN_OR_RETURN(Qwen35Spec spec, LoadQwen35Config(dir));
//   std::cout << FormatInspectReport(spec, EstimateMemory(spec), {.model_dir = dir});
#ifndef TPSERVE_TOOLS_MODEL_INSPECT_H_
#define TPSERVE_TOOLS_MODEL_INSPECT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "model/memory_estimate.h"
#include "model/model_spec.h"

namespace tpserve::tools {

struct InspectOptions {
  std::string model_dir;  // printed in the header when non-empty
  // The "replica for N sequences x T tokens" line.
  int64_t num_sequences = 8;
  int64_t tokens_per_sequence = 32768;
};

// Human-readable, multi-line report (ends with a newline).
std::string FormatInspectReport(const model::Qwen35Spec& spec,
                                const model::MemoryEstimate& estimate,
                                const InspectOptions& options = {});

// The same facts as a JSON object (pretty-printed, ends with a newline). Sizes are in bytes.
std::string FormatInspectJson(const model::Qwen35Spec& spec, const model::MemoryEstimate& estimate,
                              const InspectOptions& options = {});

// "24 layers: 18 linear_attention + 6 full_attention (every 4th)"; irregular patterns list the
// full-attention layer indices instead of "(every Nth)".
std::string DescribeLayerPattern(const model::TextSpec& text);

// "512 B", "12 KiB", "18 MiB", "1.59 GiB" (binary units, up to three significant digits).
std::string FormatBytes(size_t bytes);

}  // namespace tpserve::tools

#endif  // TPSERVE_TOOLS_MODEL_INSPECT_H_
