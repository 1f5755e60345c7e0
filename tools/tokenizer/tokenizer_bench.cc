// Encode / decode speed of the tokenizer on the test corpus (tests/unit/tokenizer/testdata), one
// thread. tools/tokenizer/bench_vs_hf.py runs this next to Hugging Face `tokenizers` and prints
// MB/s for both. Vocabularies: "qwen3" (../shared/fixtures/qwen3-tokenizer) and "qwen35_style".
//
//   tpserve_tokenizer_bench [--benchmark_filter=...] [--benchmark_format=json]
// Data locations: $TPS_SOURCE_DIR (default: the source tree it was built from) and
// $TPS_SHARED_DIR (default: $TPS_SOURCE_DIR/../shared).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {
namespace {

std::string SourceDir() {
  const char* env = std::getenv("TPS_SOURCE_DIR");
  return env != nullptr ? env : TPS_DEFAULT_SOURCE_DIR;
}

std::string VocabPath(const std::string& name) {
  if (name == "qwen3") {
    const char* shared = std::getenv("TPS_SHARED_DIR");
    return (shared != nullptr ? std::string(shared) : SourceDir() + "/../shared") +
           "/fixtures/qwen3-tokenizer/tokenizer.json";
  }
  return SourceDir() + "/tests/unit/tokenizer/testdata/" + name + "/tokenizer.json";
}

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string>* corpus = [] {
    auto* lines = new std::vector<std::string>();
    std::ifstream in(SourceDir() + "/tests/unit/tokenizer/testdata/corpus.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_string()) lines->push_back(j.get<std::string>());
    }
    if (lines->empty()) {
      std::fprintf(stderr, "no corpus under %s (set TPS_SOURCE_DIR)\n", SourceDir().c_str());
      std::exit(1);
    }
    return lines;
  }();
  return *corpus;
}

Tokenizer& Get(const std::string& name) {
  static auto* loaded = new std::map<std::string, std::unique_ptr<Tokenizer>>();
  auto it = loaded->find(name);
  if (it == loaded->end()) {
    absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromFile(VocabPath(name));
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
      std::exit(1);
    }
    it = loaded->emplace(name, *std::move(t)).first;
  }
  return *it->second;
}

int64_t CorpusBytes() {
  int64_t n = 0;
  for (const std::string& s : Corpus()) n += static_cast<int64_t>(s.size());
  return n;
}

// Encodes every corpus line once per iteration (the BPE word cache warm after the first).
void BM_Encode(benchmark::State& state, const std::string& name, bool cache) {
  Tokenizer& tok = Get(name);
  tok.set_bpe_cache_enabled(cache);
  int64_t tokens = 0;
  std::vector<int32_t> ids;
  for (auto _ : state) {
    tokens = 0;
    for (const std::string& line : Corpus()) {
      ids.clear();
      if (!tok.EncodeAppend(line, &ids).ok()) state.SkipWithError("encode failed");
      tokens += static_cast<int64_t>(ids.size());
    }
    benchmark::DoNotOptimize(ids.data());
  }
  tok.set_bpe_cache_enabled(true);
  state.SetBytesProcessed(state.iterations() * CorpusBytes());
  state.counters["tokens"] = static_cast<double>(tokens);
}

void BM_Decode(benchmark::State& state, const std::string& name) {
  Tokenizer& tok = Get(name);
  std::vector<std::vector<int32_t>> all;
  for (const std::string& line : Corpus()) all.push_back(*tok.Encode(line));
  for (auto _ : state) {
    for (const auto& ids : all) benchmark::DoNotOptimize(tok.Decode(ids));
  }
  state.SetBytesProcessed(state.iterations() * CorpusBytes());
}

void BM_Load(benchmark::State& state, const std::string& name) {
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::FromFile(VocabPath(name)));
}

BENCHMARK_CAPTURE(BM_Encode, qwen3, std::string("qwen3"), true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen3_nocache, std::string("qwen3"), false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen35_style, std::string("qwen35_style"), true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen35_style_nocache, std::string("qwen35_style"), false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, qwen3, std::string("qwen3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, qwen3, std::string("qwen3"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace tpserve::tokenizer
