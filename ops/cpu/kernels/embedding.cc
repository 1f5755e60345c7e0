// Embedding: a vocab-parallel row gather (rows outside this shard's range are zeros).
#include <cstring>

#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {

absl::Status Embedding(ThreadPool& pool, const EmbeddingArgs& args) {
  constexpr std::string_view kOp = "Embedding";
  TPS_RETURN_IF_ERROR(CheckContiguousTensor(kOp, "table", args.table,
                                            {DType::kF32, DType::kBF16, DType::kF16},
                                            {{"vocab_local", kAnyDim}, {"hidden", kAnyDim}}));
  const int64_t vocab = args.table.dim(0), hidden = args.table.dim(1);
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "ids", args.ids, {DType::kI32}, {{"n", kAnyDim}}));
  const int64_t n = args.ids.dim(0);
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "out", args.out, {DType::kF32}, {{"n", n}, {"hidden", hidden}}));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "table", args.table));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "ids", args.ids));

  const ConstTensorView table = args.table;
  const int64_t row_bytes = hidden * static_cast<int64_t>(table.element_size());
  pool.ParallelFor(
      n,
      [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          float* out = RowPtr(args.out, t);
          const int64_t row = I32At(args.ids, t) - args.vocab_begin;
          if (row < 0 || row >= vocab) {
            std::memset(out, 0, static_cast<size_t>(hidden) * sizeof(float));
            continue;
          }
          const void* src = static_cast<const char*>(table.data) + row * row_bytes;
          switch (table.dtype) {
            case DType::kBF16: {
              const auto* s = static_cast<const uint16_t*>(src);
              for (int64_t c = 0; c < hidden; ++c) out[c] = Bf16ToF32(s[c]);
              break;
            }
            case DType::kF16: {
              const auto* s = static_cast<const uint16_t*>(src);
              for (int64_t c = 0; c < hidden; ++c) out[c] = F16ToF32(s[c]);
              break;
            }
            default:
              std::memcpy(out, src, static_cast<size_t>(row_bytes));
              break;
          }
        }
      },
      GrainFor(hidden));
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
