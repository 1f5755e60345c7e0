// TPS_CHECK: programmer errors only (broken invariants no input can trigger). Anything a request,
// a file, a device or the network can cause returns absl::Status instead.
#ifndef TPSERVE_OPS_BASE_CHECK_H_
#define TPSERVE_OPS_BASE_CHECK_H_

#include <cstdio>
#include <cstdlib>

namespace tpserve::internal {

[[noreturn]] inline void CheckFailed(const char* expr, const char* file, int line,
                                     const char* message) {
  std::fprintf(stderr, "%s:%d: TPS_CHECK(%s) failed: %s\n", file, line, expr, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace tpserve::internal

#define TPS_CHECK(cond, message)                                                       \
  do {                                                                                 \
    if (!(cond)) ::tpserve::internal::CheckFailed(#cond, __FILE__, __LINE__, message); \
  } while (false)

#ifdef NDEBUG
#define TPS_DCHECK(cond, message) \
  do {                            \
  } while (false && (cond))
#else
#define TPS_DCHECK(cond, message) TPS_CHECK(cond, message)
#endif

#endif  // TPSERVE_OPS_BASE_CHECK_H_
