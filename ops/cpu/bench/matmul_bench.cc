// MatMul throughput of the CPU kernels: GB/s of weights streamed (decode shapes, m = 1 and 16) and
// GFLOP/s (prefill, m = 512), per ISA and thread count.
//
// Decode weights rotate through enough copies to exceed the last-level cache (cold: what a model
// too large for the cache sees); "hot" runs reuse one copy. Arguments: m, n, k, dtype (0 f32,
// 1 f16, 2 bf16), isa (1 avx2, 2 avx512), threads, hot. BM_Path times the two AVX-512 kernel
// paths directly, to place the rows/blocked crossover of matmul.cc.
//
//   tpserve_matmul_bench --benchmark_filter='Decode|Prefill'
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ops/base/cpu_features.h"
#include "ops/base/dtype.h"
#include "ops/core/op_args.h"
#include "ops/cpu/kernels/dispatch_internal.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/thread_pool.h"

namespace tpserve::ops::cpu {
namespace {

constexpr int64_t kColdBytes = int64_t{256} << 20;  // well past a 32 MiB L3

std::vector<float> Random(int64_t n, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& f : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    f = static_cast<float>(static_cast<int64_t>(s >> 40) - (int64_t{1} << 23)) /
        static_cast<float>(int64_t{1} << 23);
  }
  return v;
}

// `copies` weight matrices [n, k] of dtype, back to back.
std::vector<uint8_t> MakeWeights(int64_t n, int64_t k, DType dtype, int64_t copies) {
  const std::vector<float> w = Random(n * k, 7);
  const size_t es = DTypeSize(dtype);
  std::vector<uint8_t> out(static_cast<size_t>(n * k * copies) * es);
  for (int64_t c = 0; c < copies; ++c) {
    uint8_t* base = out.data() + static_cast<size_t>(c * n * k) * es;
    for (int64_t i = 0; i < n * k; ++i) {
      const float f = w[static_cast<size_t>(i)];
      if (dtype == DType::kF32) {
        reinterpret_cast<float*>(base)[i] = f;
      } else if (dtype == DType::kBF16) {
        reinterpret_cast<uint16_t*>(base)[i] = F32ToBf16(f);
      } else {
        reinterpret_cast<uint16_t*>(base)[i] = F32ToF16(f);
      }
    }
  }
  return out;
}

void BM_MatMul(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const auto dtype = static_cast<DType>(state.range(3));
  const auto isa = static_cast<CpuIsa>(state.range(4));
  const int threads = static_cast<int>(state.range(5));
  const bool hot = state.range(6) != 0;
  if (!IsaSupported(isa)) {
    state.SkipWithError("ISA not supported on this machine");
    return;
  }
  SetIsaForTesting(isa);
  state.SetLabel(absl::StrCat(CpuIsaName(isa), " ", std::string(DTypeName(dtype)), " t", threads,
                              hot ? " hot" : " cold"));
  const int64_t w_bytes = n * k * static_cast<int64_t>(DTypeSize(dtype));
  const int64_t copies = hot ? 1 : std::max<int64_t>(1, kColdBytes / w_bytes + 1);
  const std::vector<uint8_t> weights = MakeWeights(n, k, dtype, copies);
  const std::vector<float> x = Random(m * k, 11);
  std::vector<float> out(static_cast<size_t>(m * n));
  ThreadPool pool(threads);

  MatMulArgs args;
  args.x = ConstTensorView(x.data(), DType::kF32, {m, k});
  args.out = TensorView(out.data(), DType::kF32, {m, n});
  int64_t copy = 0;
  for (auto _ : state) {
    args.w = ConstTensorView(weights.data() + copy * w_bytes, dtype, {n, k});
    if (++copy == copies) copy = 0;
    const absl::Status s = MatMul(pool, args);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(w_bytes) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  ResetIsaForTesting();
}

#if defined(__x86_64__)
// The two AVX-512 kernel paths on one thread, to place the rows/blocked crossover (hot weights).
void BM_Path(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(3), k = state.range(4);
  const bool blocked = state.range(1) != 0;
  const auto dtype = static_cast<DType>(state.range(2));
  if (!IsaSupported(CpuIsa::kAvx512)) {
    state.SkipWithError("no AVX-512");
    return;
  }
  const isa::KernelTable& kt = isa::kAvx512Kernels;
  const std::vector<uint8_t> weights = MakeWeights(n, k, dtype, 1);
  const std::vector<float> x = Random(m * k, 11);
  std::vector<float> out(static_cast<size_t>(m * n));
  std::vector<float> scratch(static_cast<size_t>(kt.blocked_scratch_floats) + 16);
  float* aligned =
      reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
  isa::MatMulProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.x = x.data();
  p.ldx = k;
  p.w = weights.data();
  p.wtype = dtype == DType::kF32 ? isa::ElemType::kF32 : isa::ElemType::kBf16;
  p.out = out.data();
  p.ldo = n;
  for (auto _ : state) {
    if (blocked) {
      kt.matmul_blocked(p, 0, n, aligned);
    } else {
      kt.matmul_rows(p, 0, n);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * k) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(blocked ? "blocked" : "rows");
}
#endif

void DecodeArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "dtype", "isa", "threads", "hot"});
  for (int isa : {2, 1}) {
    for (int threads : {1, 2}) {
      for (int64_t m : {1, 16}) {
        for (auto [n, k] : {std::pair<int64_t, int64_t>{3584, 1024}, {1024, 3584}}) {
          for (DType t : {DType::kBF16, DType::kF32}) {
            b->Args({m, n, k, static_cast<int64_t>(t), isa, threads, 0});
          }
        }
      }
    }
  }
  // A hot-cache reference point and f16 weights.
  b->Args({1, 3584, 1024, static_cast<int64_t>(DType::kBF16), 2, 1, 1});
  for (int64_t m : {4, 8, 16}) {
    b->Args({m, 3584, 1024, static_cast<int64_t>(DType::kBF16), 2, 1, 1});
    b->Args({m, 3584, 1024, static_cast<int64_t>(DType::kF32), 2, 1, 1});
  }
  b->Args({1, 3584, 1024, static_cast<int64_t>(DType::kF16), 2, 1, 0});
}

void PrefillArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n", "k", "dtype", "isa", "threads", "hot"});
  for (int isa : {2, 1}) {
    for (int threads : {1, 2}) {
      for (auto [n, k] : {std::pair<int64_t, int64_t>{3584, 1024}, {1024, 3584}}) {
        for (DType t : {DType::kBF16, DType::kF32}) {
          b->Args({512, n, k, static_cast<int64_t>(t), isa, threads, 1});
        }
      }
    }
  }
  b->Args({64, 3584, 1024, static_cast<int64_t>(DType::kBF16), 2, 1, 1});
  b->Args({17, 3584, 1024, static_cast<int64_t>(DType::kBF16), 2, 1, 1});
}

#if defined(__x86_64__)
BENCHMARK(BM_Path)
    ->ArgNames({"m", "blocked", "dtype", "n", "k"})
    ->ArgsProduct({{32, 64, 128, 256}, {0, 1}, {0, 2}, {1024}, {3584}})
    ->ArgsProduct({{32, 64, 128, 256}, {0, 1}, {0, 2}, {3584}, {1024}});
#endif
BENCHMARK(BM_MatMul)->Name("Decode")->Apply(DecodeArgs)->UseRealTime()->MinTime(0.3);
BENCHMARK(BM_MatMul)->Name("Prefill")->Apply(PrefillArgs)->UseRealTime()->MinTime(0.5);

}  // namespace
}  // namespace tpserve::ops::cpu
