// Shared helpers of the tokenizer tests: where the vocabularies and the corpus live, and a
// per-process cache of loaded tokenizers (the Qwen3 vocabulary takes a moment to parse).
#ifndef TPSERVE_TESTS_UNIT_TOKENIZER_TOKENIZER_TEST_UTIL_H_
#define TPSERVE_TESTS_UNIT_TOKENIZER_TOKENIZER_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer::testing {

// tests/unit/tokenizer/testdata
std::string TestDataDir();
// "qwen3" (../shared/fixtures/qwen3-tokenizer) or "qwen35_style" (testdata/qwen35_style).
std::string VocabPath(const std::string& name);
// Loaded once per process; aborts the test with a message when the file cannot be loaded.
const Tokenizer& GetTokenizer(const std::string& name);
// One parsed JSON value per line of `path`.
absl::StatusOr<std::vector<nlohmann::json>> ReadJsonLines(const std::string& path);
// The corpus: testdata/corpus.jsonl.
const std::vector<std::string>& Corpus();

}  // namespace tpserve::tokenizer::testing

#endif  // TPSERVE_TESTS_UNIT_TOKENIZER_TOKENIZER_TEST_UTIL_H_
