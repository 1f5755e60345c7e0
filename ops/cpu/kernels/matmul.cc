// MatMul: argument checks, the choice between the rows (decode) and blocked (prefill) kernels of
// the active ISA (isa_kernels.h), and the split across the thread pool.
#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/cpu/kernels/dispatch_internal.h"
#include "ops/cpu/kernels/kernel_util.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/kernels/validate.h"

namespace tpserve::ops::cpu {
namespace {

constexpr std::string_view kOp = "MatMul";

// Up to this many x rows the rows kernel (no packing, each weight row read once) is as fast as the
// packed tiles or faster: measured on Zen 5 it runs ~160-200 GFLOP/s per core for m = 16..64,
// where packing costs the blocked path 10-40%. Above it the packed tiles win.
constexpr int64_t kMaxRowsKernelM = 64;
// Below this many multiply-adds per thread a call is not worth waking the pool.
constexpr int64_t kMinMacsPerThread = 1 << 16;
// Weight rows per work unit of the rows kernel: a multiple of every tile height (8, 6, 4) keeps
// each thread on full tiles.
constexpr int64_t kRowGroup = 24;

// out = accumulate ? out + bias : bias (or 0): the k == 0 case.
void InitOutput(const isa::MatMulProblem& p) {
  for (int64_t i = 0; i < p.m; ++i) {
    float* o = p.out + i * p.ldo;
    for (int64_t j = 0; j < p.n; ++j) {
      const float b = p.bias != nullptr ? p.bias[j] : 0.0f;
      o[j] = p.accumulate ? o[j] + b : b;
    }
  }
}

void RunRows(ThreadPool& pool, const isa::KernelTable& kt, const isa::MatMulProblem& p) {
  const int64_t groups = (p.n + kRowGroup - 1) / kRowGroup;
  const int64_t macs_per_group = std::max<int64_t>(1, kRowGroup * p.m * p.k);
  const int64_t grain = std::max<int64_t>(1, kMinMacsPerThread / macs_per_group);
  pool.ParallelFor(
      groups,
      [&](int64_t begin, int64_t end) {
        kt.matmul_rows(p, begin * kRowGroup, std::min(end * kRowGroup, p.n));
      },
      grain);
}

void RunBlocked(ThreadPool& pool, const isa::KernelTable& kt, const isa::MatMulProblem& p) {
  const int64_t panel = kt.blocked_panel_cols;
  const int64_t panels = (p.n + panel - 1) / panel;
  const int64_t threads = pool.num_threads();
  // Split n first (each thread packs only its own weight columns); split m as well when there are
  // fewer column panels than threads.
  const int64_t n_parts = std::min(panels, threads);
  const int64_t m_parts =
      std::clamp<int64_t>((threads + n_parts - 1) / n_parts, 1, std::max<int64_t>(1, p.m / 64));
  pool.ParallelFor(n_parts * m_parts, [&](int64_t begin, int64_t end) {
    float* scratch = ThreadScratch(kt.blocked_scratch_floats);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t np = task / m_parts, mp = task % m_parts;
      const int64_t n0 = panels * np / n_parts * panel;
      const int64_t n1 = std::min(p.n, panels * (np + 1) / n_parts * panel);
      const int64_t m0 = p.m * mp / m_parts, m1 = p.m * (mp + 1) / m_parts;
      if (n0 >= n1 || m0 >= m1) continue;
      isa::MatMulProblem sub = p;
      sub.m = m1 - m0;
      sub.x = p.x + m0 * p.ldx;
      sub.out = p.out + m0 * p.ldo;
      kt.matmul_blocked(sub, n0, n1, scratch);
    }
  });
}

}  // namespace

absl::Status MatMul(ThreadPool& pool, const MatMulArgs& args) {
  TPS_RETURN_IF_ERROR(
      CheckTensor(kOp, "x", args.x, {DType::kF32}, {{"m", kAnyDim}, {"k", kAnyDim}}));
  const int64_t m = args.x.dim(0), k = args.x.dim(1);
  TPS_RETURN_IF_ERROR(CheckContiguousTensor(
      kOp, "w", args.w, {DType::kF32, DType::kBF16, DType::kF16}, {{"n", kAnyDim}, {"k", k}}));
  const int64_t n = args.w.dim(0);
  if (!args.bias.empty()) {
    TPS_RETURN_IF_ERROR(CheckContiguousTensor(kOp, "bias", args.bias, {DType::kF32}, {{"n", n}}));
  }
  TPS_RETURN_IF_ERROR(CheckTensor(kOp, "out", args.out, {DType::kF32}, {{"m", m}, {"n", n}}));
  if (m > 1 && n > 0 && args.out.stride(0) < n) {
    return absl::InvalidArgumentError(absl::StrCat("MatMul: out rows overlap (row stride ",
                                                   args.out.stride(0), " < n=", n, "), got ",
                                                   DescribeView(args.out)));
  }
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "x", args.x));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "w", args.w));
  TPS_RETURN_IF_ERROR(CheckNoOverlap(kOp, "out", args.out, "bias", args.bias));
  if (m == 0 || n == 0) return absl::OkStatus();

  isa::MatMulProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.x = static_cast<const float*>(args.x.data);
  p.ldx = args.x.stride(0);
  p.w = args.w.data;
  p.wtype = ElemTypeOf(args.w.dtype);
  p.bias = args.bias.empty() ? nullptr : static_cast<const float*>(args.bias.data);
  p.out = static_cast<float*>(args.out.data);
  p.ldo = args.out.stride(0);
  p.accumulate = args.accumulate;
  if (k == 0) {
    InitOutput(p);
    return absl::OkStatus();
  }
  const isa::KernelTable& kt = Kernels();
  if (m <= kMaxRowsKernelM) {
    RunRows(pool, kt, p);
  } else {
    RunBlocked(pool, kt, p);
  }
  return absl::OkStatus();
}

}  // namespace tpserve::ops::cpu
