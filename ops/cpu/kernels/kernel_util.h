// Internal: small helpers shared by the CPU kernel files (compiled with baseline flags only).
#ifndef TPSERVE_OPS_CPU_KERNELS_KERNEL_UTIL_H_
#define TPSERVE_OPS_CPU_KERNELS_KERNEL_UTIL_H_

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

#include "ops/base/dtype.h"
#include "ops/core/tensor_view.h"
#include "ops/cpu/kernels/isa_kernels.h"
#include "ops/cpu/thread_pool.h"

namespace tpserve::ops::cpu {

// Below this many elements of work per thread an op runs on the calling thread alone.
inline constexpr int64_t kMinElementsPerThread = 1 << 14;

// ParallelFor grain for `items` of `work_per_item` elements each.
inline int64_t GrainFor(int64_t work_per_item) {
  return std::max<int64_t>(1, kMinElementsPerThread / std::max<int64_t>(1, work_per_item));
}

// Runs items [0, n) with dynamic scheduling (for items of uneven cost, listed costliest first):
// each participating thread calls make_worker() once and hands the returned callable its items.
template <typename WorkerFactory>
void ParallelForDynamic(ThreadPool& pool, int64_t n, WorkerFactory make_worker) {
  std::atomic<int64_t> next{0};
  pool.ParallelFor(std::min<int64_t>(n, pool.num_threads()), [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      auto worker = make_worker();
      for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) worker(i);
    }
  });
}

// Rotary embedding of one head in the rotate-half layout: pairs (x[i], x[i + half]) turn by the
// angle whose cosine and sine are cos_v[i], sin_v[i] (RoPE, M-RoPE and the vision tower's 2-D
// rotary share it).
inline void RotateHalf(float* x, const float* cos_v, const float* sin_v, int64_t half) {
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * cos_v[i] - x2 * sin_v[i];
    x[i + half] = x2 * cos_v[i] + x1 * sin_v[i];
  }
}

// One block of an online (flash-style) softmax for one query row: `row` holds the block's `n`
// scores, `m` / `l` the running max and sum, `out` the [d] accumulator of that row. Turns row
// into exp(score - new max), rescales out and l when the max grows, adds the block's sum to l.
// The caller then accumulates row · V into out.
inline void OnlineSoftmaxBlock(const isa::KernelTable& kt, float* row, int64_t n, float block_max,
                               float& m, float& l, float* out, int64_t d) {
  const float m_new = std::max(m, block_max);
  const float sum = kt.exp_sum(row, n, m_new);
  if (m_new != m) {
    const float corr = std::exp(m - m_new);  // 0 on the first block (m = -inf)
    l *= corr;
    kt.scale(corr, out, d);
    m = m_new;
  }
  l += sum;
}

// Rows of a rank-1..3 view (every dim but the last; a rank-1 view is one row).
inline int64_t NumRows(const ConstTensorView& v) {
  int64_t rows = 1;
  for (int i = 0; i + 1 < v.rank(); ++i) rows *= v.dim(i);
  return rows;
}

// Element offset of row r (row-major over the outer dims).
inline int64_t RowOffset(const ConstTensorView& v, int64_t r) {
  switch (v.rank()) {
    case 2:
      return r * v.stride(0);
    case 3:
      return (r / v.dim(1)) * v.stride(0) + (r % v.dim(1)) * v.stride(1);
    default:
      return 0;
  }
}

inline const float* RowPtr(const ConstTensorView& v, int64_t r) {
  return static_cast<const float*>(v.data) + RowOffset(v, r);
}
inline float* RowPtr(const TensorView& v, int64_t r) {
  return static_cast<float*>(v.data) + RowOffset(v, r);
}

// Element i of a contiguous f32 | bf16 | f16 vector, as f32.
inline float LoadAsF32(const ConstTensorView& v, int64_t i) {
  switch (v.dtype) {
    case DType::kBF16:
      return Bf16ToF32(static_cast<const uint16_t*>(v.data)[i]);
    case DType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(v.data)[i]);
    default:
      return static_cast<const float*>(v.data)[i];
  }
}

inline isa::ElemType ElemTypeOf(DType t) {
  switch (t) {
    case DType::kBF16:
      return isa::ElemType::kBf16;
    case DType::kF16:
      return isa::ElemType::kF16;
    default:
      return isa::ElemType::kF32;
  }
}

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float Silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace tpserve::ops::cpu

#endif  // TPSERVE_OPS_CPU_KERNELS_KERNEL_UTIL_H_
