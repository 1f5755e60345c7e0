// Creates a backend from a typed spec. Only backends compiled in are accepted.
#ifndef TPSERVE_OPS_CORE_BACKEND_REGISTRY_H_
#define TPSERVE_OPS_CORE_BACKEND_REGISTRY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "ops/core/backend.h"

namespace tpserve::ops {

struct BackendSpec {
  DeviceKind kind = DeviceKind::kCpu;
  int device_index = 0;
  int cpu_threads = 0;  // 0: one per available core
};

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendSpec& spec);

}  // namespace tpserve::ops

#endif  // TPSERVE_OPS_CORE_BACKEND_REGISTRY_H_
