#include "tests/unit/tokenizer/tokenizer_test_util.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "tests/testing/test_env.h"

namespace tpserve::tokenizer::testing {

std::string TestDataDir() {
  return ::tpserve::testing::SourceDir() + "/tests/unit/tokenizer/testdata";
}

std::string VocabPath(const std::string& name) {
  if (name == "qwen3") {
    return ::tpserve::testing::SharedDir() + "/fixtures/qwen3-tokenizer/tokenizer.json";
  }
  return TestDataDir() + "/" + name + "/tokenizer.json";
}

const Tokenizer& GetTokenizer(const std::string& name) {
  static std::mutex mu;
  static auto* loaded = new std::map<std::string, std::unique_ptr<Tokenizer>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = loaded->find(name);
  if (it == loaded->end()) {
    absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromFile(VocabPath(name));
    if (!t.ok()) {
      std::fprintf(stderr, "cannot load tokenizer '%s': %s\n", name.c_str(),
                   t.status().ToString().c_str());
      std::abort();
    }
    it = loaded->emplace(name, *std::move(t)).first;
  }
  return *it->second;
}

absl::StatusOr<std::vector<nlohmann::json>> ReadJsonLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<nlohmann::json> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": not valid JSON"));
    }
    out.push_back(std::move(j));
  }
  return out;
}

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string>* corpus = [] {
    auto* c = new std::vector<std::string>();
    absl::StatusOr<std::vector<nlohmann::json>> lines =
        ReadJsonLines(TestDataDir() + "/corpus.jsonl");
    if (!lines.ok()) {
      std::fprintf(stderr, "%s\n", lines.status().ToString().c_str());
      std::abort();
    }
    for (const nlohmann::json& j : *lines) c->push_back(j.get<std::string>());
    return c;
  }();
  return *corpus;
}

}  // namespace tpserve::tokenizer::testing
