// StoreKv: scatters new key/value rows into the paged cache (f32 copy or bf16
// round-to-nearest-even).
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

void StoreRow(const float* src, int64_t d, const TensorView& cache, int64_t row, int64_t head) {
  void* dst = cache.At(row, head);
  if (cache.dtype == DType::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(d) * sizeof(float));
  } else {
    auto* h = static_cast<uint16_t*>(dst);
    for (int64_t c = 0; c < d; ++c) h[c] = F32ToBf16(src[c]);
  }
}

}  // namespace

absl::Status StoreKv(ThreadPool& pool, const StoreKvArgs& args) {
  constexpr std::string_view kOp = "StoreKv";
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "k", args.k, {DType::kF32},
                                  {{"n", kAnyDim}, {"kv_heads", kAnyDim}, {"head_dim", kAnyDim}}));
  const int64_t n = args.k.dim(0), kv_heads = args.k.dim(1), head_dim = args.k.dim(2);
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "v", args.v, {DType::kF32},
                                  {{"n", n}, {"kv_heads", kv_heads}, {"head_dim", head_dim}}));
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "slot_mapping", args.slot_mapping, {DType::kI32}, {{"n", n}}));
  TPS_RETURN_IF_ERROR(CheckTensor(
      kOp, "k_cache", args.k_cache, {DType::kF32, DType::kBF16},
      {{"num_blocks*block_size", kAnyDim}, {"kv_heads", kv_heads}, {"head_dim", head_dim}}));
  const int64_t rows = args.k_cache.dim(0);
  TPS_RETURN_IF_ERROR(CheckTensor(
      kOp, "v_cache", args.v_cache, {DType::kF32, DType::kBF16},
      {{"num_blocks*block_size", rows}, {"kv_heads", kv_heads}, {"head_dim", head_dim}}));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "k_cache", args.k_cache, "v_cache", args.v_cache));
  for (int64_t t = 0; t < n; ++t) {
    const int64_t slot = I32At(args.slot_mapping, t);
    if (slot < 0 || slot >= rows) {
      return absl::InvalidArgumentError(absl::StrCat("StoreKv: slot_mapping[", t, "]=", slot,
                                                     " is outside the cache rows [0, ", rows, ")"));
    }
  }
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t row = I32At(args.slot_mapping, t);
          for (int64_t h = 0; h < kv_heads; ++h) {
            StoreRow(static_cast<const float*>(args.k.At(t, h)), head_dim, args.k_cache, row, h);
            StoreRow(static_cast<const float*>(args.v.At(t, h)), head_dim, args.v_cache, row, h);
          }
        }
      },
      GrainFor(2 * kv_heads * head_dim));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
