// Helpers for tests that run the golden tiny models (tests/golden/<model>/, made by
// tools/golden/make_golden.py with transformers).
#ifndef TPSERVE_TESTS_SHARD_GOLDEN_MODEL_H_
#define TPSERVE_TESTS_SHARD_GOLDEN_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ops/core/backend.h"
#include "shard/model_loader.h"

namespace tpserve::testing {

struct GoldenCase {
  std::string name;
  std::vector<int32_t> prompt;
  std::vector<int32_t> greedy_tokens;
  std::string prompt_logits_file;  // [prompt_len, vocab]
  std::string decode_logits_file;  // [32, vocab]: row i = logits that chose greedy_tokens[i]
};

struct GoldenManifest {
  std::string model_dir;
  std::string dtype;  // "float32" | "bfloat16"
  std::vector<GoldenCase> cases;
  std::vector<std::vector<std::string>> batches;  // case names served together
};

absl::StatusOr<GoldenManifest> LoadGoldenManifest(const std::string& model_name);

// Reads an .npy file of shape [rows, cols].
absl::StatusOr<std::vector<float>> LoadLogits(const std::string& path, int64_t* rows,
                                              int64_t* cols);

// max |a - b| / max |b| over all elements.
double MaxRelError(absl::Span<const float> got, absl::Span<const float> want);

// The golden model names: tiny_r1_tied, tiny_r2_untied, tiny_r3_bf16.
std::vector<std::string> GoldenModelNames();

}  // namespace tpserve::testing

#endif  // TPSERVE_TESTS_SHARD_GOLDEN_MODEL_H_
