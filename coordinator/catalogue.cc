#include "coordinator/catalogue.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/kv_dtype.h"
#include "model/memory_estimate.h"
#include "nlohmann/json.hpp"
#include "ops/base/echo.h"
#include "ops/base/status_macros.h"

namespace tpserve::coordinator {
namespace {

using Json = nlohmann::json;

absl::StatusOr<std::vector<std::string>> StringList(const Json& v, const std::string& where) {
  if (!v.is_array()) return absl::InvalidArgumentError(absl::StrCat(where, ": expected a list"));
  std::vector<std::string> out;
  for (const Json& s : v) {
    if (!s.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected a list of strings"));
    }
    out.push_back(s.get<std::string>());
  }
  return out;
}

absl::StatusOr<ModelEntry> ParseEntry(const Json& m, const std::string& where,
                                      const std::string& base_dir, const MemoryHeadroom& headroom) {
  if (!m.is_object())
    return absl::InvalidArgumentError(absl::StrCat(where, ": expected an object"));
  static const char* const kKeys[] = {"name",     "path",         "tier",
                                      "tp_sizes", "capabilities", "device_kinds"};
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (std::find(std::begin(kKeys), std::end(kKeys), it.key()) == std::end(kKeys)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key '", it.key(),
                                                     "' (expected one of ",
                                                     absl::StrJoin(kKeys, ", "), ")"));
    }
  }
  ModelEntry e;
  e.listed = true;
  for (const char* key : {"name", "path"}) {
    auto it = m.find(key);
    if (it == m.end() || !it->is_string() || it->get<std::string>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".", key, ": required (a string)"));
    }
  }
  e.name = m["name"].get<std::string>();
  e.path = m["path"].get<std::string>();
  if (std::filesystem::path(e.path).is_relative() && !base_dir.empty()) {
    e.path = (std::filesystem::path(base_dir) / e.path).lexically_normal().string();
  }
  absl::StatusOr<model::Qwen35Spec> spec = model::LoadQwen35Config(e.path);
  if (!spec.ok()) {
    return absl::Status(spec.status().code(),
                        absl::StrCat(where, " (", e.name, "): ", spec.status().message()));
  }
  e.spec = *std::move(spec);
  e.tier = TierOfSpec(e.spec);
  if (auto it = m.find("tier"); it != m.end()) {
    if (!it->is_string())
      return absl::InvalidArgumentError(absl::StrCat(where, ".tier: expected a string"));
    e.tier = it->get<std::string>();
  }
  e.tp_sizes = {1};
  if (auto it = m.find("tp_sizes"); it != m.end()) {
    if (!it->is_array() || it->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".tp_sizes: expected a non-empty list"));
    }
    e.tp_sizes.clear();
    for (const Json& t : *it) {
      if (!t.is_number_integer() || t.get<int64_t>() < 1 || t.get<int64_t>() > 1024) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".tp_sizes: expected integers in [1, 1024]"));
      }
      e.tp_sizes.push_back(t.get<int>());
    }
  }
  e.capabilities = CapabilitiesOfSpec(e.spec);
  if (auto it = m.find("capabilities"); it != m.end()) {
    TPS_ASSIGN_OR_RETURN(e.capabilities, StringList(*it, where + ".capabilities"));
    for (const std::string& c : e.capabilities) {
      if (c != "vision" && c != "thinking" && c != "tools") {
        return absl::InvalidArgumentError(absl::StrCat(where, ".capabilities: unknown capability '",
                                                       c, "' (expected vision, thinking, tools)"));
      }
    }
  }
  if (auto it = m.find("device_kinds"); it != m.end()) {
    TPS_ASSIGN_OR_RETURN(e.device_kinds, StringList(*it, where + ".device_kinds"));
  }
  for (int tp : e.tp_sizes) e.memory_per_rank[tp] = MemoryPerRank(e.spec, tp, headroom);
  return e;
}

}  // namespace

bool ModelEntry::HasCapability(const std::string& capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

uint64_t MemoryPerRank(const model::Qwen35Spec& spec, int tp_size, const MemoryHeadroom& headroom) {
  const DType weight_dtype = model::ConfigDTypeToDType(spec.text.dtype).value_or(DType::kBF16);
  const model::MemoryEstimate m =
      model::EstimateMemory(spec, weight_dtype, model::ResolveKvDType(std::nullopt, weight_dtype));
  const int64_t tokens = std::min(headroom.tokens, spec.text.max_position_embeddings);
  const double total = static_cast<double>(m.weight_bytes.total()) +
                       static_cast<double>(m.CacheBytes(headroom.sequences, tokens));
  const double per_rank = total / std::max(tp_size, 1) * (1.0 + headroom.workspace_fraction);
  return static_cast<uint64_t>(std::ceil(per_rank));
}

std::vector<std::string> CapabilitiesOfSpec(const model::Qwen35Spec& spec) {
  std::vector<std::string> caps;
  if (spec.has_vision_tower()) caps.push_back("vision");
  caps.push_back("thinking");
  caps.push_back("tools");
  return caps;
}

Catalogue::Catalogue(MemoryHeadroom headroom) : headroom_(headroom) {}

absl::StatusOr<std::unique_ptr<Catalogue>> Catalogue::FromFile(const std::string& path,
                                                               MemoryHeadroom headroom) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("catalogue: cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return FromJsonText(ss.str(), path, std::filesystem::path(path).parent_path().string(), headroom);
}

absl::StatusOr<std::unique_ptr<Catalogue>> Catalogue::FromJsonText(const std::string& text,
                                                                   const std::string& source_name,
                                                                   const std::string& base_dir,
                                                                   MemoryHeadroom headroom) {
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": not valid JSON"));
  }
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": expected an object with a \"models\" list"));
  }
  auto catalogue = std::make_unique<Catalogue>(headroom);
  const Json& models = j["models"];
  for (size_t i = 0; i < models.size(); ++i) {
    TPS_ASSIGN_OR_RETURN(
        ModelEntry e,
        ParseEntry(models[i], absl::StrCat(source_name, ": models[", i, "]"), base_dir, headroom));
    TPS_RETURN_IF_ERROR_CTX(catalogue->AddListed(std::move(e)), source_name, ": models[", i, "]");
  }
  return catalogue;
}

absl::Status Catalogue::AddListed(ModelEntry entry) {
  absl::MutexLock lock(&mu_);
  if (entries_.count(entry.name) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model name '", entry.name, "' is listed twice"));
  }
  std::string name = entry.name;
  entries_.emplace(std::move(name), std::move(entry));
  return absl::OkStatus();
}

absl::Status Catalogue::Discover(const std::string& name, const std::string& model_dir,
                                 int world_size) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(name);
    if (it != entries_.end()) {
      std::vector<int>& tp = it->second.tp_sizes;
      if (std::find(tp.begin(), tp.end(), world_size) == tp.end()) {
        tp.push_back(world_size);
        std::sort(tp.begin(), tp.end());
        it->second.memory_per_rank[world_size] =
            MemoryPerRank(it->second.spec, world_size, headroom_);
      }
    }
  }
  if (Find(name).has_value()) return Assets(name).status();
  absl::StatusOr<std::shared_ptr<const ModelAssets>> assets = LoadModelAssets(model_dir);
  if (!assets.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the coordinator cannot load model '", name,
                                                      "' from ", model_dir, ": ",
                                                      assets.status().message()));
  }
  ModelEntry e;
  e.name = name;
  e.path = model_dir;
  e.spec = (*assets)->spec;
  e.tier = TierOfSpec(e.spec);
  e.tp_sizes = {world_size};
  e.capabilities = CapabilitiesOfSpec(e.spec);
  e.memory_per_rank[world_size] = MemoryPerRank(e.spec, world_size, headroom_);
  absl::MutexLock lock(&mu_);
  entries_.emplace(name, std::move(e));  // a concurrent Discover of the same name may have won
  assets_.emplace(name, *std::move(assets));
  return absl::OkStatus();
}

std::optional<ModelEntry> Catalogue::Find(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<ModelEntry> Catalogue::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<ModelEntry> out;
  for (const auto& [name, e] : entries_) out.push_back(e);
  return out;
}

std::vector<std::string> Catalogue::Names() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

absl::StatusOr<std::shared_ptr<const ModelAssets>> Catalogue::Assets(const std::string& name) {
  std::string path;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = assets_.find(name); it != assets_.end()) return it->second;
    auto e = entries_.find(name);
    if (e == entries_.end())
      return absl::NotFoundError(absl::StrCat("model ", EchoValue(name), " not found"));
    path = e->second.path;
  }
  // Loaded without the lock (a real vocabulary takes a moment); a concurrent load of the same
  // model wastes work but stays correct.
  absl::StatusOr<std::shared_ptr<const ModelAssets>> assets = LoadModelAssets(path);
  if (!assets.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the coordinator cannot load model '", name,
                                                      "' from ", path, ": ",
                                                      assets.status().message()));
  }
  absl::MutexLock lock(&mu_);
  return assets_.emplace(name, *std::move(assets)).first->second;
}

}  // namespace tpserve::coordinator
