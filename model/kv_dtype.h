// The KV cache's dtype: the one rule every place that needs it uses (the model a rank loads,
// `tpserve inspect`, the coordinator's placement estimate). Unless one is asked for
// (--kv-dtype), the cache is f32 for f32 weights and bf16 otherwise (bf16 and f16 checkpoints;
// the cache has no f16 kernels).
#ifndef TPSERVE_MODEL_KV_DTYPE_H_
#define TPSERVE_MODEL_KV_DTYPE_H_

#include <optional>

#include "ops/base/dtype.h"

namespace tpserve::model {

// `requested` (a --kv-dtype), else the default for weights stored as `weight_dtype`.
constexpr DType ResolveKvDType(std::optional<DType> requested, DType weight_dtype) {
  if (requested.has_value()) return *requested;
  return weight_dtype == DType::kF32 ? DType::kF32 : DType::kBF16;
}

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_KV_DTYPE_H_
