#include "vision/preprocess_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tpserve::vision {
namespace {

using Json = nlohmann::json;

absl::Status Bad(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("preprocessor_config.json: ", std::string(field), " ", std::string(what)));
}

absl::Status ReadInt(const Json& j, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer()) return Bad(key, "must be an integer");
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return Bad(key, absl::StrCat("is ", v, ", expected [", lo, ", ", hi, "]"));
  *out = v;
  return absl::OkStatus();
}

absl::Status ReadTriple(const Json& j, const char* key, std::array<float, 3>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (it->is_number()) {
    out->fill(it->get<float>());
    return absl::OkStatus();
  }
  if (!it->is_array() || it->size() != 3) return Bad(key, "must be a number or 3 numbers");
  for (size_t i = 0; i < 3; ++i) {
    if (!(*it)[i].is_number()) return Bad(key, "must be a number or 3 numbers");
    (*out)[i] = (*it)[i].get<float>();
  }
  return absl::OkStatus();
}

absl::Status RequireTrue(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it != j.end() && it->is_boolean() && !it->get<bool>()) {
    return Bad(key, "is false (only the standard resize + rescale + normalize pipeline runs)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PreprocessConfig> ParsePreprocessorConfig(std::string_view json) {
  const Json j = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("preprocessor_config.json: not a JSON object");
  }
  PreprocessConfig c;
  constexpr int64_t kMaxPixels = int64_t{1} << 40;
  if (auto size = j.find("size"); size != j.end() && size->is_object()) {
    if (auto it = size->find("shortest_edge"); it != size->end() && it->is_number_integer()) {
      c.min_pixels = it->get<int64_t>();
    }
    if (auto it = size->find("longest_edge"); it != size->end() && it->is_number_integer()) {
      c.max_pixels = it->get<int64_t>();
    }
  }
  absl::Status s;
  if (!(s = ReadInt(j, "min_pixels", 0, kMaxPixels, &c.min_pixels)).ok()) return s;
  if (!(s = ReadInt(j, "max_pixels", 1, kMaxPixels, &c.max_pixels)).ok()) return s;
  if (!(s = ReadInt(j, "patch_size", 1, 1024, &c.patch_size)).ok()) return s;
  if (!(s = ReadInt(j, "temporal_patch_size", 1, 64, &c.temporal_patch_size)).ok()) return s;
  if (!(s = ReadInt(j, "merge_size", 1, 64, &c.merge_size)).ok()) return s;
  if (!(s = ReadTriple(j, "image_mean", &c.image_mean)).ok()) return s;
  if (!(s = ReadTriple(j, "image_std", &c.image_std)).ok()) return s;
  for (const char* key : {"do_resize", "do_rescale", "do_normalize", "do_convert_rgb"}) {
    if (!(s = RequireTrue(j, key)).ok()) return s;
  }
  if (auto it = j.find("rescale_factor"); it != j.end() && !it->is_null()) {
    if (!it->is_number() || !(it->get<double>() > 0)) return Bad("rescale_factor", "must be > 0");
    c.rescale_factor = it->get<double>();
  }
  if (auto it = j.find("resample"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int>() != 3) {
      return Bad("resample", "must be 3 (bicubic)");
    }
  }
  for (float v : c.image_std) {
    if (!(v > 0.0f)) return Bad("image_std", "must be > 0");
  }
  if (c.min_pixels > c.max_pixels) {
    return Bad("size", absl::StrCat("shortest_edge (min pixels) ", c.min_pixels,
                                    " exceeds longest_edge (max pixels) ", c.max_pixels));
  }
  if (c.max_pixels < c.factor() * c.factor()) {
    return Bad("size", absl::StrCat("longest_edge (max pixels) ", c.max_pixels,
                                    " is below one merge window (", c.factor() * c.factor(), ")"));
  }
  return c;
}

absl::StatusOr<PreprocessConfig> LoadPreprocessorConfig(const std::string& model_dir) {
  const std::string path = model_dir + "/preprocessor_config.json";
  std::ifstream in(path);
  if (!in) return PreprocessConfig{};
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<PreprocessConfig> c = ParsePreprocessorConfig(ss.str());
  if (!c.ok()) {
    return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  }
  return c;
}

}  // namespace tpserve::vision
