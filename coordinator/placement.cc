#include "coordinator/placement.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tpserve::coordinator {

namespace cpb = ::tpserve::cluster::v1;

namespace {

std::string GiB(uint64_t bytes) {
  return absl::StrFormat("%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
}

bool AllowsDevice(const ModelEntry& m, const std::string& kind) {
  return m.device_kinds.empty() ||
         std::find(m.device_kinds.begin(), m.device_kinds.end(), kind) != m.device_kinds.end();
}

}  // namespace

absl::StatusOr<cpb::Assignment> PlaceWorker(const std::string& worker_id,
                                            const cpb::DeviceInfo& device,
                                            const std::vector<ModelEntry>& models) {
  const uint64_t free_bytes =
      device.free_memory_bytes() > 0 ? device.free_memory_bytes() : device.total_memory_bytes();
  const std::string device_name = absl::StrCat(device.kind().empty() ? "device" : device.kind(),
                                               device.name().empty() ? "" : " ", device.name());
  if (free_bytes == 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot place worker ", worker_id, ": its ",
                                                      device_name, " reports no memory"));
  }
  const ModelEntry* best = nullptr;
  const ModelEntry* smallest = nullptr;
  int candidates = 0;
  for (const ModelEntry& m : models) {
    auto need = m.memory_per_rank.find(1);
    if (need == m.memory_per_rank.end() || !AllowsDevice(m, device.kind())) continue;
    ++candidates;
    if (smallest == nullptr || need->second < smallest->memory_per_rank.at(1)) smallest = &m;
    if (need->second > free_bytes) continue;
    if (best == nullptr) {
      best = &m;
      continue;
    }
    const int rank = TierRank(m.tier), best_rank = TierRank(best->tier);
    if (rank > best_rank || (rank == best_rank && need->second > best->memory_per_rank.at(1))) {
      best = &m;
    }
  }
  if (best == nullptr) {
    if (candidates == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot place worker ", worker_id, ": no catalogue model allows a single ", device_name,
          " (TP size 1", device.kind().empty() ? "" : ", device kind ", device.kind(), ")"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot place worker ", worker_id, ": its ", device_name, " has ", GiB(free_bytes),
        " free; the smallest catalogue model, ", smallest->name, ", needs ",
        GiB(smallest->memory_per_rank.at(1)), " (weights plus state-cache headroom)"));
  }
  cpb::Assignment a;
  a.set_model(best->name);
  a.set_model_dir(best->path);
  a.set_group(absl::StrCat("auto-", worker_id));
  a.set_rank(0);
  a.set_world_size(1);
  return a;
}

}  // namespace tpserve::coordinator
