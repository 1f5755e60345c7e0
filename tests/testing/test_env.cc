#include "tests/testing/test_env.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace tpserve::testing {
namespace {

std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

void RemoveTempDirs() {
  for (const auto& d : TempDirs()) {
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
  }
}

}  // namespace

std::string SourceDir() {
  const char* env = std::getenv("TPS_SOURCE_DIR");
  return env != nullptr ? std::string(env) : std::string(TPS_DEFAULT_SOURCE_DIR);
}

std::string SharedDir() {
  const char* env = std::getenv("TPS_SHARED_DIR");
  return env != nullptr ? std::string(env) : SourceDir() + "/../shared";
}

std::string GoldenModelDir(const std::string& name) {
  return SourceDir() + "/tests/golden/" + name;
}

std::string MakeTempDir() {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(RemoveTempDirs); });
  std::string tmpl = (std::filesystem::temp_directory_path() / "tpserve_test_XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  TempDirs().push_back(tmpl);
  return tmpl;
}

std::vector<float> RandomFloats(int64_t n, uint64_t seed, float lo, float hi) {
  std::vector<float> out(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& v : out) {
    s += 0x9E3779B97F4A7C15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const double u = static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
    v = static_cast<float>(lo + (hi - lo) * u);
  }
  return out;
}

}  // namespace tpserve::testing
