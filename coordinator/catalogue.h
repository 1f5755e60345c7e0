// The models this coordinator serves: the ones listed in the catalogue file (--catalogue), which
// placement may assign to workers that come without an assignment, and the ones discovered from
// workers that come with an explicit assignment (their model directory is the assignment's).
//
// The catalogue file is JSON:
//
//   {"models": [
//     {"name": "qwen3.5-9b", "path": "/models/Qwen3.5-9B",      // HF directory (relative: to the
//     file)
//      "tier": "9b",                                            // optional: from the config's
//      shape "tp_sizes": [1, 2],                                      // optional: [1]
//      "capabilities": ["vision", "thinking", "tools"],         // optional: from the config
//      "device_kinds": ["cuda", "metal"]}                       // optional: any device
//   ]}
//
// Unknown keys are errors (a typo must not silently change placement). Each listed model's
// config.json is read at load time to compute the memory one rank needs at each TP size
// (MemoryPerRank); tokenizers and the rest of ModelAssets are loaded on first use.
//
// Thread-safe.
#ifndef TPSERVE_COORDINATOR_CATALOGUE_H_
#define TPSERVE_COORDINATOR_CATALOGUE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/model_assets.h"
#include "model/model_spec.h"

namespace tpserve::coordinator {

// How much room a rank must have beyond its share of the weights (the placement headroom rule):
// the KV cache and DeltaNet state of `sequences` sequences of `tokens` tokens each (capped at the
// model's context), plus `workspace_fraction` of weights + caches for activations and workspace.
struct MemoryHeadroom {
  int64_t sequences = 8;
  int64_t tokens = 4096;
  double workspace_fraction = 0.10;
};

struct ModelEntry {
  std::string name;
  std::string path;  // the Hugging Face model directory
  std::string tier;  // "27b", "9b", "4b", "2b", "0.8b" or "custom"
  std::vector<int> tp_sizes;
  std::vector<std::string> capabilities;  // "vision", "thinking", "tools"
  std::vector<std::string> device_kinds;  // empty: any
  model::Qwen35Spec spec;
  std::map<int, uint64_t> memory_per_rank;  // TP size -> bytes one rank needs
  bool listed = false;                      // from the catalogue file (else discovered)

  bool HasCapability(const std::string& capability) const;
};

// Bytes one rank of a `tp_size` group needs for `spec` under `headroom` (weights in the config's
// dtype, bf16 KV cache; the split is taken as even).
uint64_t MemoryPerRank(const model::Qwen35Spec& spec, int tp_size, const MemoryHeadroom& headroom);

// "vision" (when the config has a vision tower), "thinking", "tools".
std::vector<std::string> CapabilitiesOfSpec(const model::Qwen35Spec& spec);

class Catalogue {
 public:
  // An empty catalogue (models come only from explicit assignments).
  explicit Catalogue(MemoryHeadroom headroom = {});

  // Reads the catalogue file; errors name the file, the entry and the key.
  static absl::StatusOr<std::unique_ptr<Catalogue>> FromFile(const std::string& path,
                                                             MemoryHeadroom headroom = {});
  // From JSON text; `base_dir` resolves relative paths, `source_name` prefixes errors.
  static absl::StatusOr<std::unique_ptr<Catalogue>> FromJsonText(const std::string& text,
                                                                 const std::string& source_name,
                                                                 const std::string& base_dir,
                                                                 MemoryHeadroom headroom = {});

  // Makes `name` known as served from `model_dir` by groups of `world_size` ranks (a worker's
  // explicit assignment) and loads its assets. A listed model keeps its entry (the TP size is
  // added). FailedPrecondition when the directory cannot be loaded.
  absl::Status Discover(const std::string& name, const std::string& model_dir, int world_size);

  std::optional<ModelEntry> Find(const std::string& name) const;
  // All models, by name.
  std::vector<ModelEntry> List() const;
  std::vector<std::string> Names() const;

  // The assets of a known model, loaded on first use. NotFound for an unknown name.
  absl::StatusOr<std::shared_ptr<const ModelAssets>> Assets(const std::string& name);

  const MemoryHeadroom& headroom() const { return headroom_; }

 private:
  absl::Status AddListed(ModelEntry entry);

  const MemoryHeadroom headroom_;
  mutable absl::Mutex mu_;
  std::map<std::string, ModelEntry> entries_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<const ModelAssets>> assets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_CATALOGUE_H_
