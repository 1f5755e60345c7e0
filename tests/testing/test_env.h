// Where tests find their data: the source tree (committed fixtures) and ../shared.
#ifndef TPSERVE_TESTS_TESTING_TEST_ENV_H_
#define TPSERVE_TESTS_TESTING_TEST_ENV_H_

#include <cstdint>
#include <string>
#include <vector>

namespace tpserve::testing {

// The repository root ($TPS_SOURCE_DIR, set by ctest).
std::string SourceDir();
// The shared folder beside the repository ($TPS_SHARED_DIR, default SourceDir()/../shared).
std::string SharedDir();
// SourceDir()/tests/golden/<name>.
std::string GoldenModelDir(const std::string& name);
// A fresh, empty temporary directory, removed at process exit.
std::string MakeTempDir();

// Deterministic uniform floats in [lo, hi) (splitmix64-based; the same everywhere).
std::vector<float> RandomFloats(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace tpserve::testing

#endif  // TPSERVE_TESTS_TESTING_TEST_ENV_H_
