#include <atomic>
#include <cstdlib>
#include <memory>

#include "ops/base/check.h"
#include "ops/cpu/kernels/dispatch_internal.h"

namespace tpserve::ops::cpu {
namespace {

// -1: no override.
std::atomic<int> g_forced_isa{-1};

const isa::KernelTable& TableFor(CpuIsa isa) {
#if defined(__x86_64__)
  switch (isa) {
    case CpuIsa::kAvx512:
      return isa::kAvx512Kernels;
    case CpuIsa::kAvx2:
      return isa::kAvx2Kernels;
    case CpuIsa::kScalar:
      break;
  }
#else
  (void)isa;
#endif
  return isa::kScalarKernels;
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

}  // namespace

bool IsaSupported(CpuIsa isa) {
#if defined(__x86_64__)
  const CpuFeatures& f = GetCpuFeatures();
  switch (isa) {
    case CpuIsa::kScalar:
      return true;
    case CpuIsa::kAvx2:
      return f.avx2_fma && f.f16c;
    case CpuIsa::kAvx512:
      return f.avx512 && f.avx2_fma && f.f16c;
  }
  return false;
#else
  return isa == CpuIsa::kScalar;
#endif
}

CpuIsa ActiveIsa() {
  const int forced = g_forced_isa.load(std::memory_order_relaxed);
  return forced >= 0 ? static_cast<CpuIsa>(forced) : GetCpuFeatures().best_isa;
}

const isa::KernelTable& Kernels() { return TableFor(ActiveIsa()); }

void SetIsaForTesting(CpuIsa isa) {
  TPS_CHECK(IsaSupported(isa), "SetIsaForTesting: this machine cannot run the requested ISA");
  g_forced_isa.store(static_cast<int>(isa));
}

void ResetIsaForTesting() { g_forced_isa.store(-1); }

float* ThreadScratch(int64_t num_floats) {
  thread_local std::unique_ptr<float, FreeDeleter> buffer;
  thread_local int64_t capacity = 0;
  if (num_floats > capacity) {
    // Grow geometrically so alternating kernels do not reallocate every call.
    const int64_t want = num_floats > 2 * capacity ? num_floats : 2 * capacity;
    const size_t bytes = (static_cast<size_t>(want) * sizeof(float) + 63) / 64 * 64;
    buffer.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    TPS_CHECK(buffer != nullptr, "ThreadScratch: out of memory");
    capacity = want;
  }
  return buffer.get();
}

}  // namespace tpserve::ops::cpu
