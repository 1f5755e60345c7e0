// The vision tower with the real Qwen3.5/3.6-27B dimensions (depth 27, hidden 1152, 16 heads of
// 72, MLP 4304, merger 4608 -> 5120) and random bf16 weights built in memory, on a 448x448 and a
// 1344x896 image: tensor parallel (heads and MLP split, all-reduce) against data parallel (whole
// tower per rank, images spread, all-gather), ranks as threads with one CPU thread each and
// shared-memory collectives. Wall time per Encode of the image set (decode excluded: synthetic
// pixels).
//
//   build/vision/tpserve_vision_bench --benchmark_filter=.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "model/model_spec.h"
#include "ops/base/check.h"
#include "ops/base/store.h"
#include "ops/comm/shm/shm_communicator.h"
#include "ops/cpu/cpu_backend.h"
#include "vision/image_encoder.h"
#include "vision/vision_tower.h"

namespace tpserve::vision {
namespace {

// Fills `n` values ~ U(-a, a) in `dtype` into a new buffer kept in `keep`.
ops::ConstTensorView RandomTensor(ops::Backend& backend, DType dtype, const ops::Shape& shape,
                                  float a, uint64_t seed, std::vector<ops::DeviceBuffer>& keep) {
  const int64_t n = shape.num_elements();
  auto buf =
      backend.Allocate(static_cast<size_t>(n) * DTypeSize(dtype), ops::BufferUsage::kWeights);
  TPS_CHECK(buf.ok(), "allocation failed");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-a, a);
  if (dtype == DType::kBF16) {
    auto* p = static_cast<uint16_t*>(buf->data());
    for (int64_t i = 0; i < n; ++i) p[i] = F32ToBf16(dist(rng));
  } else {
    auto* p = static_cast<float*>(buf->data());
    for (int64_t i = 0; i < n; ++i) p[i] = dist(rng);
  }
  ops::ConstTensorView v = buf->View(dtype, shape);
  keep.push_back(*std::move(buf));
  return v;
}

// This rank's share of a random tower split `tp` ways.
VisionWeights RandomWeights(ops::Backend& b, const model::VisionSpec& s, int tp, int rank) {
  auto keep = std::make_shared<std::vector<ops::DeviceBuffer>>();
  uint64_t seed = 1000 * static_cast<uint64_t>(rank + 1);
  const DType bf = DType::kBF16, f32 = DType::kF32;
  const int64_t h = s.hidden_size, hl = h / tp, il = s.intermediate_size / tp;
  const int64_t m = s.merger_hidden(), ml = m / tp;
  auto mat = [&](int64_t out, int64_t in) {
    return RandomTensor(b, bf, {out, in}, std::sqrt(3.0f / static_cast<float>(in)), ++seed, *keep);
  };
  auto vec = [&](int64_t n, float a) { return RandomTensor(b, f32, {n}, a, ++seed, *keep); };
  auto ones = [&](int64_t n) {
    ops::ConstTensorView v = vec(n, 0.1f);
    float* p = static_cast<float*>(const_cast<void*>(v.data));
    for (int64_t i = 0; i < n; ++i) p[i] += 1.0f;
    return v;
  };
  VisionWeights w;
  w.tp_ranks = tp;
  w.patch_embed = {{mat(h, s.patch_input_dim())}, vec(h, 0.05f)};
  w.pos_embed = RandomTensor(b, bf, {s.num_position_embeddings, h}, 0.5f, ++seed, *keep);
  for (int64_t j = 0; j < s.depth; ++j) {
    VisionBlockWeights bw;
    bw.norm1_weight = ones(h);
    bw.norm1_bias = vec(h, 0.05f);
    bw.norm2_weight = ones(h);
    bw.norm2_bias = vec(h, 0.05f);
    bw.qkv = {{mat(hl, h), mat(hl, h), mat(hl, h)}, vec(3 * hl, 0.05f)};
    bw.proj = {{mat(h, hl)}, rank == 0 ? vec(h, 0.05f) : ops::ConstTensorView()};
    bw.fc1 = {{mat(il, h)}, vec(il, 0.05f)};
    bw.fc2 = {{mat(h, il)}, rank == 0 ? vec(h, 0.05f) : ops::ConstTensorView()};
    w.blocks.push_back(bw);
  }
  w.merger_norm_weight = ones(h);
  w.merger_norm_bias = vec(h, 0.05f);
  w.merger_fc1 = {{mat(ml, m)}, vec(ml, 0.05f)};
  w.merger_fc2 = {{mat(s.out_hidden_size, ml)},
                  rank == 0 ? vec(s.out_hidden_size, 0.05f) : ops::ConstTensorView()};
  w.keep_alive = keep;
  return w;
}

// A group of `tp` rank threads that each hold an ImageEncoder and run Encode on command.
class Group {
 public:
  Group(int tp, TowerParallelism mode) : tp_(tp) {
    auto spec = model::Qwen35Preset("27b");
    TPS_CHECK(spec.ok() && spec->vision.has_value(), "no 27b preset");
    spec_ = *spec->vision;
    std::vector<std::thread> setup;
    encoders_.resize(static_cast<size_t>(tp));
    backends_.resize(static_cast<size_t>(tp));
    comms_.resize(static_cast<size_t>(tp));
    for (int r = 0; r < tp; ++r) {
      setup.emplace_back([this, r, mode] {
        auto be = ops::CreateCpuBackend({.num_threads = 1});
        TPS_CHECK(be.ok(), "backend");
        backends_[static_cast<size_t>(r)] = *std::move(be);
        ops::Backend& b = *backends_[static_cast<size_t>(r)];
        const int split = mode == TowerParallelism::kTensorParallel ? tp_ : 1;
        auto tower =
            VisionTower::Create(spec_, RandomWeights(b, spec_, split, split == 1 ? 0 : r), b);
        TPS_CHECK(tower.ok(), "tower");
        auto comm = comm::CreateShmCommunicator(store_, r, tp_, {});
        TPS_CHECK(comm.ok(), "communicator");
        comms_[static_cast<size_t>(r)] = *std::move(comm);
        ImageEncoderOptions o;
        o.rank = r;
        o.world_size = tp_;
        auto enc = ImageEncoder::Create(*std::move(tower), o);
        TPS_CHECK(enc.ok(), "encoder");
        TPS_CHECK((*enc)->set_communicator(comms_[static_cast<size_t>(r)].get()).ok(), "comm");
        encoders_[static_cast<size_t>(r)] = *std::move(enc);
      });
    }
    for (auto& t : setup) t.join();
  }

  // Runs the tower on `images` on every rank; returns when all ranks are done.
  void Run(const std::vector<PixelPatches>& images) {
    std::vector<std::thread> ranks;
    for (int r = 0; r < tp_; ++r) {
      ranks.emplace_back([&, r] {
        ImageEncoder& e = *encoders_[static_cast<size_t>(r)];
        absl::StatusOr<TowerOutput> out;
        if (e.parallelism() == TowerParallelism::kTensorParallel) {
          std::vector<const PixelPatches*> ptrs;
          for (const auto& p : images) ptrs.push_back(&p);
          out = e.tower().Forward(ptrs);
        } else {
          out = EncodePatchesDataParallel(e, r, images);
        }
        TPS_CHECK(out.ok(), "tower forward failed");
      });
    }
    for (auto& t : ranks) t.join();
  }

  const model::VisionSpec& spec() const { return spec_; }

 private:
  // Data parallel without decoding: each rank runs its share of the images, then the all-gather
  // that ImageEncoder does (same sizes, same collective).
  absl::StatusOr<TowerOutput> EncodePatchesDataParallel(ImageEncoder& e, int rank,
                                                        const std::vector<PixelPatches>& images) {
    std::vector<int64_t> tokens;
    for (const auto& p : images) tokens.push_back(p.grid.num_tokens());
    const std::vector<int> owner = AssignImagesToRanks(tokens, tp_);
    std::vector<const PixelPatches*> mine;
    std::vector<int64_t> load(static_cast<size_t>(tp_), 0);
    for (size_t i = 0; i < images.size(); ++i) {
      if (owner[i] == rank) mine.push_back(&images[i]);
      load[static_cast<size_t>(owner[i])] += tokens[i];
    }
    auto own = e.tower().Forward(mine);
    if (!own.ok()) return own.status();
    const int64_t rows = *std::max_element(load.begin(), load.end());
    const int64_t width = spec_.out_hidden_size;
    ops::Backend& b = e.tower().backend();
    auto send = b.Allocate(static_cast<size_t>(rows * width) * 4, ops::BufferUsage::kActivations);
    auto all =
        b.Allocate(static_cast<size_t>(tp_ * rows * width) * 4, ops::BufferUsage::kActivations);
    if (!send.ok() || !all.ok()) return absl::ResourceExhaustedError("alloc");
    std::memcpy(send->data(), own->embeddings.data,
                static_cast<size_t>(own->embeddings.num_elements()) * 4);
    TPS_CHECK(
        comms_[static_cast<size_t>(rank)]
            ->AllGather(send->View(DType::kF32, {rows, width}),
                        all->View(DType::kF32, {tp_ * rows, width}), {.timeout = absl::Minutes(30)})
            .ok(),
        "all-gather");
    return own;
  }

  int tp_;
  model::VisionSpec spec_;
  comm::InProcessStore store_;
  std::vector<std::unique_ptr<ops::Backend>> backends_;
  std::vector<std::unique_ptr<comm::Communicator>> comms_;
  std::vector<std::unique_ptr<ImageEncoder>> encoders_;
};

PixelPatches SyntheticImage(int64_t height, int64_t width) {
  PixelPatches p;
  p.grid = {1, height / 16, width / 16, 2};
  p.values.resize(static_cast<size_t>(p.grid.num_patches() * 1536));
  std::mt19937 rng(static_cast<uint32_t>(height * 7 + width));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : p.values) v = dist(rng);
  return p;
}

// args: tp, mode (0 tensor, 1 data), image set (0: 448x448, 1: 1344x896 (w x h), 2: both)
void BM_VisionTower(benchmark::State& state) {
  const int tp = static_cast<int>(state.range(0));
  const auto mode =
      state.range(1) == 0 ? TowerParallelism::kTensorParallel : TowerParallelism::kDataParallel;
  std::vector<PixelPatches> images;
  if (state.range(2) != 1) images.push_back(SyntheticImage(448, 448));
  if (state.range(2) != 0) images.push_back(SyntheticImage(896, 1344));
  static std::map<std::pair<int, int>, std::unique_ptr<Group>> groups;
  auto& g = groups[{tp, static_cast<int>(mode)}];
  if (g == nullptr) g = std::make_unique<Group>(tp, mode);
  int64_t patches = 0;
  for (const auto& p : images) patches += p.grid.num_patches();
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    g->Run(images);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  state.counters["patches"] = static_cast<double>(patches);
  state.SetLabel(absl::StrCat(
      "T=", tp, mode == TowerParallelism::kTensorParallel ? " tensor" : " data", "-parallel"));
}

BENCHMARK(BM_VisionTower)
    ->ArgNames({"tp", "data_parallel", "images"})
    ->Args({2, 0, 0})
    ->Args({2, 1, 0})
    ->Args({2, 0, 1})
    ->Args({2, 1, 1})
    ->Args({2, 0, 2})
    ->Args({2, 1, 2})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace tpserve::vision

BENCHMARK_MAIN();
