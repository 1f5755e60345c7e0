// Reading parts of a mapped tensor without materialising the whole tensor: copies of a range along
// any dim with dtype conversion among f32/bf16/f16 (zero-copy views for a backend are
// shard/mapped_view.h).
// Only the bytes of the requested slice are read, so a rank mapping its shard of a 27B checkpoint
// touches only its own pages.
#ifndef TPSERVE_MODEL_TENSOR_SLICE_H_
#define TPSERVE_MODEL_TENSOR_SLICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/safetensors.h"
#include "ops/base/dtype.h"

namespace tpserve::model {

// Elements of the slice [begin, end) along `dim` (the other dims whole).
absl::StatusOr<int64_t> SliceNumElements(const TensorInfo& tensor, int dim, int64_t begin,
                                         int64_t end);

// Copies the slice [begin, end) along `dim` into `dst` as a contiguous tensor of the source shape
// with dim `dim` narrowed, converting to `dst_dtype`. `dst_bytes` must equal the slice's element
// count times DTypeSize(dst_dtype). Conversions: any dtype to itself; among f32, bf16 and f16
// (bf16/f16 -> f32 exact, to bf16/f16 round-to-nearest-even).
absl::Status CopyTensorSlice(const TensorInfo& tensor, int dim, int64_t begin, int64_t end,
                             DType dst_dtype, void* dst, size_t dst_bytes);

// Asks the kernel to read [data, data + bytes) of a mapped file ahead of use (MADV_WILLNEED),
// page-aligned outward. Mappings are MADV_RANDOM, so nothing outside such ranges is read ahead.
void PrefetchMapped(const void* data, size_t bytes);

// Converts `n` elements (either pointer may be unaligned). Same dtype: a copy.
absl::Status ConvertElements(const void* src, DType src_dtype, void* dst, DType dst_dtype,
                             int64_t n);

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_TENSOR_SLICE_H_
