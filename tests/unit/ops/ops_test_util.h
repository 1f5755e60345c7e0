// Helpers shared by the CPU kernel tests: backends per thread count, ISA scoping, conversions and
// tolerance checks against the float64 reference.
#ifndef TPSERVE_TESTS_UNIT_OPS_OPS_TEST_UTIL_H_
#define TPSERVE_TESTS_UNIT_OPS_OPS_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ops/base/cpu_features.h"
#include "ops/core/backend.h"

namespace tpserve::ops::testing {

// Every op test runs on a backend with each of these thread counts.
inline constexpr int kThreadCounts[] = {1, 2};

// A CPU backend with `threads` threads (aborts the test binary if creation fails).
std::unique_ptr<Backend> MakeCpuBackend(int threads);

// The ISAs this machine can run, scalar first.
std::vector<CpuIsa> SupportedIsas();

// Forces an ISA for the kernels while in scope.
class ScopedIsa {
 public:
  explicit ScopedIsa(CpuIsa isa);
  ~ScopedIsa();
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;
};

std::vector<float> Random(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
std::vector<double> ToF64(const std::vector<float>& v);
std::vector<uint16_t> ToBf16(const std::vector<float>& v);
std::vector<uint16_t> ToF16(const std::vector<float>& v);
// The values the bf16 / f16 encodings hold, as f64.
std::vector<double> Bf16Values(const std::vector<uint16_t>& v);
std::vector<double> F16Values(const std::vector<uint16_t>& v);

// |got[i] − want[i]| ≤ atol + rtol·|want[i]| for every i; the message names the worst element.
::testing::AssertionResult AllClose(const std::vector<float>& got, const std::vector<double>& want,
                                    double rtol, double atol);
// |got[i] − want[i]| ≤ bound[i] for every i.
::testing::AssertionResult WithinBounds(const std::vector<float>& got,
                                        const std::vector<double>& want,
                                        const std::vector<double>& bound);

}  // namespace tpserve::ops::testing

#endif  // TPSERVE_TESTS_UNIT_OPS_OPS_TEST_UTIL_H_
