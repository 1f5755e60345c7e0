// Run-time CPU feature detection, so one binary runs on mixed nodes (no -march=native by default).
#ifndef TPSERVE_OPS_BASE_CPU_FEATURES_H_
#define TPSERVE_OPS_BASE_CPU_FEATURES_H_

#include <string>

namespace tpserve {

enum class CpuIsa : int {
  kScalar = 0,  // portable C++ (any x86-64 or arm64)
  kAvx2 = 1,    // AVX2 + FMA + F16C
  kAvx512 = 2,  // AVX-512 F/BW/VL/DQ
};

struct CpuFeatures {
  bool avx2_fma = false;
  bool f16c = false;
  bool avx512 = false;  // F + BW + VL + DQ
  bool avx512_bf16 = false;
  bool avx512_vnni = false;
  CpuIsa best_isa = CpuIsa::kScalar;
};

// Detected once; TPSERVE_CPU_ISA=scalar|avx2|avx512 caps the level (for tests and benchmarks).
const CpuFeatures& GetCpuFeatures();
std::string CpuIsaName(CpuIsa isa);

}  // namespace tpserve

#endif  // TPSERVE_OPS_BASE_CPU_FEATURES_H_
