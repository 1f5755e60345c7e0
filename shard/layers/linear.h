// ApplyLinear: out = x · Wᵀ for a (possibly multi-piece) LinearWeight, one MatMul per piece, each
// writing its own output columns.
#ifndef TPSERVE_SHARD_LAYERS_LINEAR_H_
#define TPSERVE_SHARD_LAYERS_LINEAR_H_

#include "absl/status/status.h"
#include "ops/core/backend.h"
#include "shard/model_weights.h"

namespace tpserve::shard {

// x: [n, in] f32; out: [n, w.out_features()] f32 (rows may be strided).
absl::Status ApplyLinear(ops::Backend& backend, const LinearWeight& w, ops::ConstTensorView x,
                         ops::TensorView out, bool accumulate = false);

// A [rows, cols] view of the first `rows` rows of a contiguous 2-D buffer view.
inline ops::TensorView Rows(const ops::TensorView& buffer, int64_t rows) {
  return buffer.Slice(0, 0, rows);
}

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_LAYERS_LINEAR_H_
