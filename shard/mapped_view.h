// Zero-copy tensor views of a mapped checkpoint: the rows of a tensor as an ops::ConstTensorView
// that points into the file's read-only mapping, plus the reference that keeps the mapping
// alive. The one place where the file formats (model/) meet the backend's tensor vocabulary.
#ifndef TPSERVE_SHARD_MAPPED_VIEW_H_
#define TPSERVE_SHARD_MAPPED_VIEW_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "model/safetensors.h"
#include "ops/core/tensor_view.h"

namespace tpserve::shard {

// A view into a mapped file plus the reference that keeps the mapping alive.
struct MappedTensorView {
  ops::ConstTensorView view;
  std::shared_ptr<const model::SafetensorsFile> owner;
};

// Zero-copy view of rows [begin, end) of dim 0 (any rank from 1 to ops::kMaxDims). InvalidArgument
// for an out-of-range slice, a rank the view cannot express, an unsupported dtype, or data that is
// not aligned to the element size in the file.
absl::StatusOr<MappedTensorView> RowSliceView(const model::TensorInfo& tensor, int64_t begin,
                                              int64_t end);

// The whole tensor viewed with `shape` (same element count, rank <= 4), for example the Conv3d
// patch embedding [Hvis, 3, 2, 16, 16] as a matrix [Hvis, 1536].
absl::StatusOr<MappedTensorView> ReshapedView(const model::TensorInfo& tensor,
                                              const ops::Shape& shape);

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_MAPPED_VIEW_H_
