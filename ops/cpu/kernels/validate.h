// Internal: argument checks shared by the CPU kernels. Every failure is InvalidArgument naming the
// op, the field, what it got (DescribeView) and what was expected.
#ifndef TPSERVE_OPS_CPU_KERNELS_VALIDATE_H_
#define TPSERVE_OPS_CPU_KERNELS_VALIDATE_H_

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "absl/status/status.h"
#include "ops/base/dtype.h"
#include "ops/core/tensor_view.h"

namespace tpserve::ops::cpu {

inline constexpr int64_t kAnyDim = -1;

// One expected dim: its name in the op's shape comment and its size (kAnyDim: any size).
struct Dim {
  const char* name;
  int64_t size;
};

// Checks dtype (one of `dtypes`), rank and dims, a contiguous innermost dim, and non-null data
// unless the view has no elements.
absl::Status CheckTensor(std::string_view op, std::string_view field, const ConstTensorView& v,
                         std::initializer_list<DType> dtypes, std::initializer_list<Dim> dims);

// Like CheckTensor, and every dim must be contiguous.
absl::Status CheckContiguousTensor(std::string_view op, std::string_view field,
                                   const ConstTensorView& v, std::initializer_list<DType> dtypes,
                                   std::initializer_list<Dim> dims);

// Rejects `out` overlapping `in` in memory (for outputs the contract says must not alias).
absl::Status CheckNoOverlap(std::string_view op, std::string_view out_field,
                            const ConstTensorView& out, std::string_view in_field,
                            const ConstTensorView& in);

// Rejects `out` that overlaps `in` without being exactly the same view (same data, strides).
// Element-wise ops that allow "may alias" handle exact aliasing only.
absl::Status CheckExactAliasOrDisjoint(std::string_view op, std::string_view out_field,
                                       const ConstTensorView& out, std::string_view in_field,
                                       const ConstTensorView& in);

// seq_starts [num_seqs + 1] i32: starts at 0, non-decreasing, ends at num_tokens.
absl::Status CheckSeqStarts(std::string_view op, const ConstTensorView& seq_starts,
                            int64_t num_tokens);

// slots [num_seqs] i32: each in [0, max_slots), no two sequences share a slot.
absl::Status CheckSlots(std::string_view op, const ConstTensorView& slots, int64_t num_seqs,
                        int64_t max_slots);

// Element i of a rank-1 i32 view already checked by CheckTensor.
inline int64_t I32At(const ConstTensorView& v, int64_t i) {
  return static_cast<const int32_t*>(v.data)[i * v.stride(0)];
}

}  // namespace tpserve::ops::cpu

#endif  // TPSERVE_OPS_CPU_KERNELS_VALIDATE_H_
