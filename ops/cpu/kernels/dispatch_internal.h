// Internal: picks the KernelTable (isa_kernels.h) for this machine, and per-thread scratch memory.
#ifndef TPSERVE_OPS_CPU_KERNELS_DISPATCH_INTERNAL_H_
#define TPSERVE_OPS_CPU_KERNELS_DISPATCH_INTERNAL_H_

#include <cstdint>

#include "ops/base/cpu_features.h"
#include "ops/cpu/kernels/isa_kernels.h"

namespace tpserve::ops::cpu {

// The kernels of the active ISA: GetCpuFeatures().best_isa (which TPSERVE_CPU_ISA may cap) unless
// SetIsaForTesting chose another.
const isa::KernelTable& Kernels();
CpuIsa ActiveIsa();

// True when this machine can run `isa`'s kernels (ignoring TPSERVE_CPU_ISA).
bool IsaSupported(CpuIsa isa);

// Tests and benchmarks: forces `isa`, which must be supported (TPS_CHECK). Not safe while ops run.
void SetIsaForTesting(CpuIsa isa);
// Back to the default choice.
void ResetIsaForTesting();

// Scratch memory owned by the calling thread: at least `num_floats` floats, 64-byte aligned, valid
// until this thread's next call. Kernels use it from inside ParallelFor bodies.
float* ThreadScratch(int64_t num_floats);

}  // namespace tpserve::ops::cpu

#endif  // TPSERVE_OPS_CPU_KERNELS_DISPATCH_INTERNAL_H_
