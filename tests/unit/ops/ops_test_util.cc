#include "tests/unit/ops/ops_test_util.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "ops/base/dtype.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/kernels/dispatch_internal.h"
#include "tests/testing/test_env.h"

namespace tpserve::ops::testing {

std::unique_ptr<Backend> MakeCpuBackend(int threads) {
  CpuBackendOptions options;
  options.num_threads = threads;
  auto backend = CreateCpuBackend(options);
  if (!backend.ok()) std::abort();
  return std::move(backend).value();
}

std::vector<CpuIsa> SupportedIsas() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (cpu::IsaSupported(isa)) out.push_back(isa);
  }
  return out;
}

ScopedIsa::ScopedIsa(CpuIsa isa) { cpu::SetIsaForTesting(isa); }
ScopedIsa::~ScopedIsa() { cpu::ResetIsaForTesting(); }

std::vector<float> Random(int64_t n, uint64_t seed, float lo, float hi) {
  return tpserve::testing::RandomFloats(n, seed, lo, hi);
}

std::vector<double> ToF64(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::vector<uint16_t> ToBf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = F32ToBf16(v[i]);
  return out;
}

std::vector<uint16_t> ToF16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = F32ToF16(v[i]);
  return out;
}

std::vector<double> Bf16Values(const std::vector<uint16_t>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = Bf16ToF32(v[i]);
  return out;
}

std::vector<double> F16Values(const std::vector<uint16_t>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = F16ToF32(v[i]);
  return out;
}

::testing::AssertionResult WithinBounds(const std::vector<float>& got,
                                        const std::vector<double>& want,
                                        const std::vector<double>& bound) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != expected " << want.size();
  }
  size_t worst = 0, failures = 0;
  double worst_ratio = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - want[i]);
    const double ratio = std::isnan(err) ? INFINITY : err / bound[i];
    if (ratio > 1.0) ++failures;
    if (ratio > worst_ratio || std::isnan(static_cast<double>(got[i]))) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << failures << " of " << got.size() << " elements out of tolerance; worst [" << worst
         << "]: got " << got[worst] << ", want " << want[worst] << ", |err| "
         << std::abs(got[worst] - want[worst]) << " > bound " << bound[worst];
}

::testing::AssertionResult AllClose(const std::vector<float>& got, const std::vector<double>& want,
                                    double rtol, double atol) {
  std::vector<double> bound(want.size());
  for (size_t i = 0; i < want.size(); ++i) bound[i] = atol + rtol * std::abs(want[i]);
  return WithinBounds(got, want, bound);
}

}  // namespace tpserve::ops::testing
