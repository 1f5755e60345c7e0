#include "ops/base/sampling_bounds.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace tpserve {
namespace {

absl::Status Invalid(std::string_view prefix, const char* field, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(absl::string_view(prefix.data(), prefix.size()), field, ": ", what));
}

}  // namespace

absl::Status ValidateSamplingFields(const SamplingFields& f, std::string_view prefix) {
  if (f.temperature.has_value() && !(std::isfinite(*f.temperature) && *f.temperature >= 0.0f)) {
    return Invalid(prefix, "temperature",
                   absl::StrCat("must be >= 0 and finite (0 = greedy), got ", *f.temperature));
  }
  if (f.top_k.has_value() && *f.top_k < 0) {
    return Invalid(prefix, "top_k", absl::StrCat("must be >= 0 (0 = off), got ", *f.top_k));
  }
  if (f.top_p.has_value() && !(*f.top_p > 0.0f && *f.top_p <= 1.0f)) {
    return Invalid(prefix, "top_p", absl::StrCat("must be in (0, 1], got ", *f.top_p));
  }
  if (f.min_p.has_value() && !(*f.min_p >= 0.0f && *f.min_p <= 1.0f)) {
    return Invalid(prefix, "min_p", absl::StrCat("must be in [0, 1], got ", *f.min_p));
  }
  if (f.repetition_penalty.has_value() &&
      !(std::isfinite(*f.repetition_penalty) && *f.repetition_penalty > 0.0f)) {
    return Invalid(prefix, "repetition_penalty",
                   absl::StrCat("must be > 0 and finite (1 = off), got ", *f.repetition_penalty));
  }
  return absl::OkStatus();
}

}  // namespace tpserve
