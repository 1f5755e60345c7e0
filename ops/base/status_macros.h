// Status helpers. abseil 20220623 (Debian 12) has no ABSL_RETURN_IF_ERROR / ABSL_ASSIGN_OR_RETURN;
// these local names stay until the project moves to an abseil that has them.
#ifndef TPSERVE_OPS_BASE_STATUS_MACROS_H_
#define TPSERVE_OPS_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define TPS_RETURN_IF_ERROR(expr)                                                             \
  do {                                                                                        \
    if (absl::Status tpserve_status_ = (expr); !tpserve_status_.ok()) return tpserve_status_; \
  } while (false)

#define TPS_STATUS_CONCAT_INNER_(a, b) a##b
#define TPS_STATUS_CONCAT_(a, b) TPS_STATUS_CONCAT_INNER_(a, b)

#define TPS_ASSIGN_OR_RETURN(lhs, expr)                                         \
  auto TPS_STATUS_CONCAT_(tpserve_statusor_, __LINE__) = (expr);                \
  if (!TPS_STATUS_CONCAT_(tpserve_statusor_, __LINE__).ok())                    \
    return std::move(TPS_STATUS_CONCAT_(tpserve_statusor_, __LINE__)).status(); \
  lhs = std::move(TPS_STATUS_CONCAT_(tpserve_statusor_, __LINE__)).value()

namespace tpserve {

// Returns `status` with `context` prepended to its message ("context: message"); OK stays OK.
inline absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(absl::string_view(context.data(), context.size()),
                                                  ": ", status.message()));
}

}  // namespace tpserve

// Like TPS_RETURN_IF_ERROR, but prefixes the error message with `context` (any StrCat arguments).
#define TPS_RETURN_IF_ERROR_CTX(expr, ...)                                    \
  do {                                                                        \
    if (absl::Status tpserve_status_ = (expr); !tpserve_status_.ok())         \
      return ::tpserve::Annotate(tpserve_status_, absl::StrCat(__VA_ARGS__)); \
  } while (false)

#endif  // TPSERVE_OPS_BASE_STATUS_MACROS_H_
