#include "model/tensor_slice.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"

namespace tpserve::model {
namespace {

bool IsFloat(DType d) { return d == DType::kF32 || d == DType::kBF16 || d == DType::kF16; }

float LoadFloat(const std::byte* p, DType d) {
  if (d == DType::kF32) {
    float f;
    std::memcpy(&f, p, sizeof(f));
    return f;
  }
  uint16_t bits;
  std::memcpy(&bits, p, sizeof(bits));
  return d == DType::kBF16 ? Bf16ToF32(bits) : F16ToF32(bits);
}

void StoreFloat(float f, std::byte* p, DType d) {
  if (d == DType::kF32) {
    std::memcpy(p, &f, sizeof(f));
    return;
  }
  const uint16_t bits = d == DType::kBF16 ? F32ToBf16(f) : F32ToF16(f);
  std::memcpy(p, &bits, sizeof(bits));
}

// Errors are "<file>: tensor '<name>': <problem>".
absl::Status TensorError(const TensorInfo& t, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(t.file, ": tensor '", t.name, "' ", t.Describe(), ": ",
                   absl::string_view(problem.data(), problem.size())));
}

absl::Status CheckRange(const TensorInfo& t, int dim, int64_t begin, int64_t end) {
  if (dim < 0 || static_cast<size_t>(dim) >= t.shape.size()) {
    return TensorError(t, absl::StrCat("dim ", dim, " is out of range for rank ", t.shape.size()));
  }
  const int64_t size = t.shape[static_cast<size_t>(dim)];
  if (begin < 0 || end < begin || end > size) {
    return TensorError(t, absl::StrCat("slice [", begin, ", ", end, ") of dim ", dim,
                                       " is out of range [0, ", size, "]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ConvertElements(const void* src, DType src_dtype, void* dst, DType dst_dtype,
                             int64_t n) {
  if (n <= 0) return absl::OkStatus();
  const auto* s = static_cast<const std::byte*>(src);
  auto* d = static_cast<std::byte*>(dst);
  if (src_dtype == dst_dtype) {
    std::memcpy(d, s, static_cast<size_t>(n) * DTypeSize(src_dtype));
    return absl::OkStatus();
  }
  if (!IsFloat(src_dtype) || !IsFloat(dst_dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot convert ",
                                                   std::string(DTypeName(src_dtype)), " to ",
                                                   std::string(DTypeName(dst_dtype))));
  }
  const size_t ss = DTypeSize(src_dtype);
  const size_t ds = DTypeSize(dst_dtype);
  for (int64_t i = 0; i < n; ++i) {
    StoreFloat(LoadFloat(s + static_cast<size_t>(i) * ss, src_dtype),
               d + static_cast<size_t>(i) * ds, dst_dtype);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SliceNumElements(const TensorInfo& t, int dim, int64_t begin, int64_t end) {
  TPS_RETURN_IF_ERROR(CheckRange(t, dim, begin, end));
  int64_t n = end - begin;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (static_cast<int>(i) != dim) n *= t.shape[i];
  }
  return n;
}

absl::Status CopyTensorSlice(const TensorInfo& t, int dim, int64_t begin, int64_t end,
                             DType dst_dtype, void* dst, size_t dst_bytes) {
  TPS_ASSIGN_OR_RETURN(int64_t n, SliceNumElements(t, dim, begin, end));
  TPS_ASSIGN_OR_RETURN(DType src_dtype, t.RequireDType());
  const size_t want = static_cast<size_t>(n) * DTypeSize(dst_dtype);
  if (dst_bytes != want) {
    return TensorError(t, absl::StrCat("destination holds ", dst_bytes, " bytes but the slice [",
                                       begin, ", ", end, ") of dim ", dim, " as ",
                                       std::string(DTypeName(dst_dtype)), " needs ", want));
  }
  if (src_dtype != dst_dtype && (!IsFloat(src_dtype) || !IsFloat(dst_dtype))) {
    return TensorError(t, absl::StrCat("cannot convert to ", std::string(DTypeName(dst_dtype))));
  }
  if (n == 0) return absl::OkStatus();
  int64_t outer = 1;
  for (int i = 0; i < dim; ++i) outer *= t.shape[static_cast<size_t>(i)];
  int64_t inner = 1;
  for (size_t i = static_cast<size_t>(dim) + 1; i < t.shape.size(); ++i) inner *= t.shape[i];
  const int64_t dim_size = t.shape[static_cast<size_t>(dim)];
  const int64_t chunk = (end - begin) * inner;  // contiguous elements per outer index
  const size_t src_elem = DTypeSize(src_dtype);
  const size_t dst_elem = DTypeSize(dst_dtype);
  auto* out = static_cast<std::byte*>(dst);
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t src_index = (o * dim_size + begin) * inner;
    TPS_RETURN_IF_ERROR(ConvertElements(t.data + static_cast<size_t>(src_index) * src_elem,
                                        src_dtype, out + static_cast<size_t>(o * chunk) * dst_elem,
                                        dst_dtype, chunk));
  }
  return absl::OkStatus();
}

void PrefetchMapped(const void* data, size_t bytes) {
  if (bytes == 0) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(data) + bytes;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_WILLNEED);
}

}  // namespace tpserve::model
