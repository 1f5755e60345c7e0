// Debian's abseil (20220623) has its own absl::string_view, distinct from std::string_view:
// absl::StrCat and absl's string-keyed hash maps take only the former. ToAbsl() bridges.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_ABSL_COMPAT_H_
#define TPSERVE_COORDINATOR_TOKENIZER_ABSL_COMPAT_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace tpserve::tokenizer {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_ABSL_COMPAT_H_
