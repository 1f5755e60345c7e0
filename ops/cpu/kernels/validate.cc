#include "ops/cpu/kernels/validate.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tpserve::ops::cpu {
namespace {

std::string Expected(std::initializer_list<DType> dtypes, std::initializer_list<Dim> dims) {
  std::string s;
  for (DType t : dtypes) absl::StrAppend(&s, s.empty() ? "" : "|", std::string(DTypeName(t)));
  s += "[";
  bool first = true;
  for (const Dim& d : dims) {
    absl::StrAppend(&s, first ? "" : ", ", d.name);
    if (d.size != kAnyDim) absl::StrAppend(&s, "=", d.size);
    first = false;
  }
  return s + "]";
}

absl::Status Mismatch(std::string_view op, std::string_view field, const ConstTensorView& v,
                      std::initializer_list<DType> dtypes, std::initializer_list<Dim> dims,
                      std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(op), ": ", std::string(field), " must be ", Expected(dtypes, dims),
                   std::string(what), ", got ",
                   v.data == nullptr && v.rank() == 0 ? std::string("none") : DescribeView(v)));
}

// [lowest, highest) byte addresses a view touches; empty when it has no elements.
void ByteRange(const ConstTensorView& v, uintptr_t* lo, uintptr_t* hi) {
  const uintptr_t base = reinterpret_cast<uintptr_t>(v.data);
  int64_t min_off = 0, max_off = 0;
  for (int i = 0; i < v.rank(); ++i) {
    if (v.dim(i) == 0) {
      *lo = *hi = base;
      return;
    }
    const int64_t span = (v.dim(i) - 1) * v.stride(i);
    if (span < 0) {
      min_off += span;
    } else {
      max_off += span;
    }
  }
  const auto es = static_cast<int64_t>(v.element_size());
  *lo = base + static_cast<uintptr_t>(min_off * es);
  *hi = base + static_cast<uintptr_t>((max_off + 1) * es);
}

// Whether base + Σ k_d·stride_d == 0 has a solution with lo_d ≤ k_d ≤ hi_d, for strides sorted
// descending and nested (each larger than the reach of all smaller ones), so at most two values of
// k_d can leave a remainder the smaller dims can still cancel.
struct Axis {
  int64_t stride, lo, hi;
};

bool Reachable(int64_t delta, const std::vector<Axis>& axes, size_t d) {
  if (d == axes.size()) return delta == 0;
  const Axis& ax = axes[d];
  const int64_t q = delta / ax.stride;  // truncates toward 0
  for (int64_t k : {q - 1, q, q + 1}) {
    if (k >= ax.lo && k <= ax.hi && Reachable(delta - k * ax.stride, axes, d + 1)) return true;
  }
  return false;
}

// True when a and b provably share no element: same dtype and strides, nested strides, and no
// index difference maps one base onto the other (the halves of a fused projection output).
bool ProvablyDisjoint(const ConstTensorView& a, const ConstTensorView& b) {
  if (a.dtype != b.dtype || a.rank() != b.rank()) return false;
  const auto es = static_cast<int64_t>(a.element_size());
  const int64_t bytes = static_cast<int64_t>(reinterpret_cast<uintptr_t>(b.data) -
                                             reinterpret_cast<uintptr_t>(a.data));
  if (bytes % es != 0) return false;
  std::vector<Axis> axes;
  for (int i = 0; i < a.rank(); ++i) {
    if (a.dim(i) <= 1 && b.dim(i) <= 1) continue;
    if (a.stride(i) != b.stride(i) || a.stride(i) <= 0) return false;
    axes.push_back({a.stride(i), -(b.dim(i) - 1), a.dim(i) - 1});
  }
  std::sort(axes.begin(), axes.end(),
            [](const Axis& x, const Axis& y) { return x.stride > y.stride; });
  int64_t reach = 0;  // max |Σ k_e·stride_e| over the smaller dims
  for (size_t d = axes.size(); d-- > 0;) {
    if (axes[d].stride <= reach) return false;
    reach += std::max(-axes[d].lo, axes[d].hi) * axes[d].stride;
  }
  return !Reachable(bytes / es, axes, 0);
}

bool Overlap(const ConstTensorView& a, const ConstTensorView& b) {
  if (a.data == nullptr || b.data == nullptr) return false;
  uintptr_t alo, ahi, blo, bhi;
  ByteRange(a, &alo, &ahi);
  ByteRange(b, &blo, &bhi);
  if (alo >= bhi || blo >= ahi) return false;
  return !ProvablyDisjoint(a, b);
}

}  // namespace

absl::Status CheckTensor(std::string_view op, std::string_view field, const ConstTensorView& v,
                         std::initializer_list<DType> dtypes, std::initializer_list<Dim> dims) {
  bool dtype_ok = false;
  for (DType t : dtypes) dtype_ok |= (v.dtype == t);
  if (!dtype_ok) return Mismatch(op, field, v, dtypes, dims, "");
  if (v.rank() != static_cast<int>(dims.size())) return Mismatch(op, field, v, dtypes, dims, "");
  int i = 0;
  for (const Dim& d : dims) {
    if (v.dim(i) < 0 || (d.size != kAnyDim && v.dim(i) != d.size)) {
      return Mismatch(op, field, v, dtypes, dims, "");
    }
    ++i;
  }
  if (!v.inner_contiguous()) {
    return Mismatch(op, field, v, dtypes, dims, " with a contiguous innermost dim");
  }
  if (v.data == nullptr && v.num_elements() > 0) {
    return Mismatch(op, field, v, dtypes, dims, " with data (the pointer is null)");
  }
  return absl::OkStatus();
}

absl::Status CheckContiguousTensor(std::string_view op, std::string_view field,
                                   const ConstTensorView& v, std::initializer_list<DType> dtypes,
                                   std::initializer_list<Dim> dims) {
  if (absl::Status s = CheckTensor(op, field, v, dtypes, dims); !s.ok()) return s;
  if (!v.is_contiguous()) return Mismatch(op, field, v, dtypes, dims, " and contiguous");
  return absl::OkStatus();
}

absl::Status CheckNoOverlap(std::string_view op, std::string_view out_field,
                            const ConstTensorView& out, std::string_view in_field,
                            const ConstTensorView& in) {
  if (!Overlap(out, in)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(std::string(op), ": ", std::string(out_field), " ",
                                                 DescribeView(out), " must not alias ",
                                                 std::string(in_field), " ", DescribeView(in)));
}

absl::Status CheckExactAliasOrDisjoint(std::string_view op, std::string_view out_field,
                                       const ConstTensorView& out, std::string_view in_field,
                                       const ConstTensorView& in) {
  if (out.data == in.data && out.shape == in.shape && out.strides == in.strides &&
      out.dtype == in.dtype) {
    return absl::OkStatus();
  }
  if (!Overlap(out, in)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(op), ": ", std::string(out_field), " ", DescribeView(out), " partially overlaps ",
      std::string(in_field), " ", DescribeView(in), " (it may only be the very same view)"));
}

absl::Status CheckSeqStarts(std::string_view op, const ConstTensorView& seq_starts,
                            int64_t num_tokens) {
  const int64_t count = seq_starts.dim(0);
  if (count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(op), ": seq_starts must have num_seqs + 1 >= 1 entries, got ",
                     DescribeView(seq_starts)));
  }
  int64_t prev = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t s = I32At(seq_starts, i);
    if ((i == 0 && s != 0) || s < prev || s > num_tokens) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(op), ": seq_starts must start at 0, be non-decreasing and end at n=",
          num_tokens, ", got seq_starts[", i, "]=", s, (i > 0 ? " after " : ""),
          (i > 0 ? absl::StrCat(prev) : "")));
    }
    prev = s;
  }
  if (prev != num_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(op), ": seq_starts must end at n=", num_tokens, ", got ", prev));
  }
  return absl::OkStatus();
}

absl::Status CheckSlots(std::string_view op, const ConstTensorView& slots, int64_t num_seqs,
                        int64_t max_slots) {
  std::vector<bool> used(static_cast<size_t>(max_slots), false);
  for (int64_t i = 0; i < num_seqs; ++i) {
    const int64_t s = I32At(slots, i);
    if (s < 0 || s >= max_slots) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(op), ": slots[", i, "]=", s,
                                                     " is outside [0, max_slots=", max_slots, ")"));
    }
    if (used[static_cast<size_t>(s)]) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(op), ": slots[", i, "]=", s,
                                                     " is used by two sequences in one call"));
    }
    used[static_cast<size_t>(s)] = true;
  }
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
