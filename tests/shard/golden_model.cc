#include "tests/shard/golden_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "ops/base/npy.h"
#include "tests/testing/test_env.h"

namespace tpserve::testing {

std::vector<std::string> GoldenModelNames() {
  return {"tiny_r1_tied", "tiny_r2_untied", "tiny_r3_bf16"};
}

absl::StatusOr<GoldenManifest> LoadGoldenManifest(const std::string& model_name) {
  GoldenManifest m;
  m.model_dir = GoldenModelDir(model_name);
  const std::string path = m.model_dir + "/manifest.json";
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": bad JSON"));
  m.dtype = j.value("dtype", "");
  for (const auto& c : j.at("cases")) {
    GoldenCase gc;
    gc.name = c.at("name").get<std::string>();
    gc.prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
    gc.greedy_tokens = c.at("greedy_tokens").get<std::vector<int32_t>>();
    gc.prompt_logits_file = m.model_dir + "/" + c.at("prompt_logits").get<std::string>();
    gc.decode_logits_file = m.model_dir + "/" + c.at("decode_logits").get<std::string>();
    m.cases.push_back(std::move(gc));
  }
  if (j.contains("batches")) {
    for (const auto& b : j.at("batches"))
      m.batches.push_back(b.at("cases").get<std::vector<std::string>>());
  }
  return m;
}

absl::StatusOr<std::vector<float>> LoadLogits(const std::string& path, int64_t* rows,
                                              int64_t* cols) {
  absl::StatusOr<NpyArray> a = ReadNpy(path);
  if (!a.ok()) return a.status();
  if (a->shape.size() != 2) return absl::InvalidArgumentError(absl::StrCat(path, ": expected 2-D"));
  *rows = a->shape[0];
  *cols = a->shape[1];
  return std::move(a->data);
}

double MaxRelError(absl::Span<const float> got, absl::Span<const float> want) {
  double max_ref = 0, max_err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(want[i])));
    max_err = std::max(max_err, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  if (got.size() != want.size()) return INFINITY;
  return max_ref > 0 ? max_err / max_ref : max_err;
}

}  // namespace tpserve::testing
