#include "ops/base/cpu_features.h"

#include <cstdlib>
#include <string>

namespace tpserve {
namespace {

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.f16c = __builtin_cpu_supports("f16c");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
#endif
  if (f.avx512 && f.avx2_fma) {
    f.best_isa = CpuIsa::kAvx512;
  } else if (f.avx2_fma && f.f16c) {
    f.best_isa = CpuIsa::kAvx2;
  }
  if (const char* cap = std::getenv("TPSERVE_CPU_ISA"); cap != nullptr) {
    const std::string v(cap);
    CpuIsa limit = f.best_isa;
    if (v == "scalar") limit = CpuIsa::kScalar;
    if (v == "avx2") limit = CpuIsa::kAvx2;
    if (static_cast<int>(limit) < static_cast<int>(f.best_isa)) f.best_isa = limit;
  }
  return f;
}

}  // namespace

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

std::string CpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar:
      return "scalar";
    case CpuIsa::kAvx2:
      return "avx2";
    case CpuIsa::kAvx512:
      return "avx512";
  }
  return "?";
}

}  // namespace tpserve
