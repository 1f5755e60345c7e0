// The CPU backend: always built, the reference for every other backend, the backend of CPU workers.
//
// Memory is host memory (64-byte aligned). Ops run on the calling thread plus a fixed pool of
// workers (ThreadPool) and are complete when they return, so Synchronize() is a no-op. Kernels pick
// their instruction set at run time (AVX-512 / AVX2+FMA / portable C++) from GetCpuFeatures(); the
// default build never uses -march=native.
#ifndef TPSERVE_OPS_CPU_CPU_BACKEND_H_
#define TPSERVE_OPS_CPU_CPU_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "ops/core/backend.h"

namespace tpserve::ops {

struct CpuBackendOptions {
  int num_threads = 0;  // 0: std::thread::hardware_concurrency()
};

absl::StatusOr<std::unique_ptr<Backend>> CreateCpuBackend(const CpuBackendOptions& options);

}  // namespace tpserve::ops

#endif  // TPSERVE_OPS_CPU_CPU_BACKEND_H_
