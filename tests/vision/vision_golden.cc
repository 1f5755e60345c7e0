#include "tests/vision/vision_golden.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_env.h"

namespace tpserve::testing {

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t Fnv1a64(const void* data, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

absl::StatusOr<VisionManifest> LoadVisionManifest() {
  VisionManifest m;
  m.model_dir = GoldenModelDir("tiny_vision");
  absl::StatusOr<std::string> text = ReadFileBytes(m.model_dir + "/manifest.json");
  if (!text.ok()) return text.status();
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return absl::InvalidArgumentError("tiny_vision/manifest.json: bad JSON");
  m.vocab = j.at("vocab").get<int64_t>();
  for (const auto& c : j.at("cases")) {
    VisionCase vc;
    vc.name = c.at("name").get<std::string>();
    vc.images = c.at("images").get<std::vector<std::string>>();
    vc.prompt = c.at("prompt_ids").get<std::vector<int32_t>>();
    for (const auto& g : c.at("image_grid_thw")) vc.grid_thw.push_back({g[0], g[1], g[2]});
    vc.image_tokens = c.at("image_tokens").get<std::vector<int64_t>>();
    for (const auto& p : c.at("pixel_values")) {
      VisionPixelRef r;
      if (!absl::SimpleAtoi(p.at("fnv1a64").get<std::string>(), &r.fnv1a64)) {
        return absl::InvalidArgumentError("bad fnv1a64");
      }
      r.sum = p.at("sum").get<double>();
      r.abs_sum = p.at("abs_sum").get<double>();
      r.patches = p.at("patches").get<int64_t>();
      r.sample_rows = p.at("sample_rows").get<std::vector<int64_t>>();
      vc.pixels.push_back(r);
    }
    vc.position_delta = c.at("position_delta").get<int32_t>();
    vc.greedy_tokens = c.at("greedy_tokens").get<std::vector<int32_t>>();
    vc.chat = c.at("chat").get<bool>();
    m.cases.push_back(std::move(vc));
  }
  for (const auto& d : j.at("decode_cases")) {
    m.decode_cases.push_back({d.at("file").get<std::string>(), d.at("width").get<int64_t>(),
                              d.at("height").get<int64_t>()});
  }
  for (const auto& r : j.at("resize_cases")) {
    m.resize_cases.push_back({r.at("width").get<int64_t>(), r.at("height").get<int64_t>()});
  }
  return m;
}

}  // namespace tpserve::testing
