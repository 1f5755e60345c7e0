#include "ops/core/backend_registry.h"

#include "absl/strings/str_cat.h"
#include "ops/cpu/cpu_backend.h"

namespace tpserve::ops {

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendSpec& spec) {
  switch (spec.kind) {
    case DeviceKind::kCpu:
      return CreateCpuBackend(CpuBackendOptions{.num_threads = spec.cpu_threads});
    case DeviceKind::kCuda:
      return absl::UnimplementedError("this build has no CUDA backend (TPS_ENABLE_CUDA)");
    case DeviceKind::kVulkan:
      return absl::UnimplementedError("this build has no Vulkan backend (TPS_ENABLE_VULKAN)");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown device kind ", static_cast<int>(spec.kind)));
}

}  // namespace tpserve::ops
