// Throughput of the CPU's non-MatMul hot kernels at Qwen3.5 shapes: the gated delta rule (chunked
// vs token recurrence) and paged attention (decode and prefill).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "ops/base/dtype.h"
#include "ops/core/op_args.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/thread_pool.h"

namespace tpserve::ops::cpu {
namespace {

std::vector<float> Fill(int64_t n, float lo, float hi, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& f : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    f = lo + (hi - lo) * static_cast<float>(s >> 40) / static_cast<float>(1 << 24);
  }
  return v;
}

// args: tokens, v_heads, chunk_size, threads. k_heads = v_heads / 2, dk = dv = 128.
void BM_GatedDeltaNet(benchmark::State& state) {
  const int64_t n = state.range(0), vh = state.range(1), chunk = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  const int64_t kh = vh / 2, d = 128;
  std::vector<float> q = Fill(n * kh * d, -0.09f, 0.09f, 1), k = Fill(n * kh * d, -0.09f, 0.09f, 2);
  std::vector<float> v = Fill(n * vh * d, -1, 1, 3), g = Fill(n * vh, -1, 0, 4),
                     beta = Fill(n * vh, 0, 1, 5);
  std::vector<float> st = Fill(vh * d * d, -0.1f, 0.1f, 6), out(static_cast<size_t>(n * vh * d));
  std::vector<int32_t> slots = {0}, starts = {0, static_cast<int32_t>(n)};
  ThreadPool pool(threads);
  GatedDeltaNetArgs a;
  a.q = ConstTensorView(q.data(), DType::kF32, {n, kh, d});
  a.k = ConstTensorView(k.data(), DType::kF32, {n, kh, d});
  a.v = ConstTensorView(v.data(), DType::kF32, {n, vh, d});
  a.g = ConstTensorView(g.data(), DType::kF32, {n, vh});
  a.beta = ConstTensorView(beta.data(), DType::kF32, {n, vh});
  a.state = TensorView(st.data(), DType::kF32, {1, vh, d, d});
  a.slots = ConstTensorView(slots.data(), DType::kI32, {1});
  a.seq_starts = ConstTensorView(starts.data(), DType::kI32, {2});
  a.out = TensorView(out.data(), DType::kF32, {n, vh, d});
  a.chunk_size = chunk;
  for (auto _ : state) {
    if (!GatedDeltaNet(pool, a).ok()) state.SkipWithError("GatedDeltaNet failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(absl::StrCat(chunk > 0 ? "chunked" : "recurrent", " t", threads));
}

// args: query tokens, context, heads, kv_heads, threads. head_dim 256, bf16 cache, block 16.
void BM_Attention(benchmark::State& state) {
  const int64_t n = state.range(0), ctx = state.range(1), heads = state.range(2),
                kvh = state.range(3);
  const int threads = static_cast<int>(state.range(4));
  const int64_t d = 256, bs = 16, blocks = (ctx + bs - 1) / bs;
  std::vector<float> q = Fill(n * heads * d, -1, 1, 1), out(static_cast<size_t>(n * heads * d));
  const std::vector<float> kf = Fill(blocks * bs * kvh * d, -1, 1, 2);
  std::vector<uint16_t> kc(kf.size()), vc(kf.size());
  for (size_t i = 0; i < kf.size(); ++i) kc[i] = vc[i] = F32ToBf16(kf[i]);
  std::vector<int32_t> table(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b)
    table[static_cast<size_t>(b)] = static_cast<int32_t>(blocks - 1 - b);
  std::vector<int32_t> starts = {0, static_cast<int32_t>(n)}, lens = {static_cast<int32_t>(ctx)};
  ThreadPool pool(threads);
  AttentionArgs a;
  a.q = ConstTensorView(q.data(), DType::kF32, {n, heads, d});
  a.k_cache = ConstTensorView(kc.data(), DType::kBF16, {blocks * bs, kvh, d});
  a.v_cache = ConstTensorView(vc.data(), DType::kBF16, {blocks * bs, kvh, d});
  a.block_tables = ConstTensorView(table.data(), DType::kI32, {1, blocks});
  a.seq_starts = ConstTensorView(starts.data(), DType::kI32, {2});
  a.context_lens = ConstTensorView(lens.data(), DType::kI32, {1});
  a.out = TensorView(out.data(), DType::kF32, {n, heads, d});
  a.block_size = bs;
  a.scale = 1.0f / 16.0f;
  for (auto _ : state) {
    if (!Attention(pool, a).ok()) state.SkipWithError("Attention failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(absl::StrCat("t", threads));
}

BENCHMARK(BM_GatedDeltaNet)
    ->ArgNames({"tokens", "v_heads", "chunk", "threads"})
    ->Args({512, 16, 64, 1})
    ->Args({512, 16, 0, 1})
    ->Args({512, 16, 64, 2})
    ->Args({512, 16, 0, 2})
    ->Args({1, 16, 64, 1})
    ->Args({1, 16, 64, 2})
    ->UseRealTime();
BENCHMARK(BM_Attention)
    ->ArgNames({"tokens", "context", "heads", "kv_heads", "threads"})
    ->Args({1, 4096, 8, 2, 1})
    ->Args({1, 4096, 8, 2, 2})
    ->Args({512, 512, 8, 2, 1})
    ->Args({512, 512, 8, 2, 2})
    ->UseRealTime();

}  // namespace
}  // namespace tpserve::ops::cpu
