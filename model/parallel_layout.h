// ParallelLayout: which tensor-parallel rank this shard is (a value type, derived once at the edge
// and passed down unchanged). The bound on the group size and the divisibility rule live here and
// nowhere else.
#ifndef TPSERVE_MODEL_PARALLEL_LAYOUT_H_
#define TPSERVE_MODEL_PARALLEL_LAYOUT_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tpserve::model {

// The most ranks one tensor-parallel group may have.
inline constexpr int kMaxTensorParallel = 64;

struct ParallelLayout {
  int tp_size = 1;
  int tp_rank = 0;

  // InvalidArgument unless 1 <= tp_size <= kMaxTensorParallel and 0 <= tp_rank < tp_size.
  absl::Status Validate() const {
    if (tp_size < 1 || tp_size > kMaxTensorParallel) {
      return absl::InvalidArgumentError(absl::StrCat("tensor-parallel size must be in [1, ",
                                                     kMaxTensorParallel, "], got ", tp_size));
    }
    if (tp_rank < 0 || tp_rank >= tp_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("rank ", tp_rank, " outside a tensor-parallel group of ", tp_size));
    }
    return absl::OkStatus();
  }

  // InvalidArgument naming `what` when tp_size does not divide `count` (a head count, ...).
  absl::Status CheckDivides(int64_t count, std::string_view what) const {
    if (count % tp_size == 0) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("tp_size ", tp_size, " does not divide ",
                                                   absl::string_view(what.data(), what.size()), " ",
                                                   count));
  }
};

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_PARALLEL_LAYOUT_H_
