// Each rank loads only its own slices: after loading rank r of T and running a step (which reads
// every weight the rank holds), the rank's resident weight bytes — pages of the checkpoint mapping
// in this process (/proc/self/smaps Rss) plus its own converted copies — stay near total/T plus the
// replicated parts, never the whole model.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_spec.h"
#include "model/model_tensors.h"
#include "ops/comm/communicator.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tools/model/random_model.h"

namespace tpserve::shard {
namespace {

// Sum of Rss (bytes) of this process's mappings of `path`.
size_t MappedRss(const std::string& path) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  size_t kb = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') != std::string::npos && line.find(' ') != std::string::npos &&
        !absl::StartsWith(line, "Rss")) {
      in_file = absl::EndsWith(line, path);
      continue;
    }
    if (in_file && absl::StartsWith(line, "Rss:")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      size_t v = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &v)) kb += v;
    }
  }
  return kb * 1024;
}

// Drops the file's clean pages from the page cache, so only what a rank reads comes back.
void EvictFromPageCache(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(fdatasync(fd), 0);
  ASSERT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  close(fd);
}

// A communicator for measuring one rank alone: every collective succeeds and does nothing.
class NoopCommunicator final : public comm::Communicator {
 public:
  NoopCommunicator(int rank, int world) : rank_(rank), world_(world) {}
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string_view name() const override { return "noop"; }
  uint64_t sequence_number() const override { return 0; }
  absl::Status AllReduce(ops::TensorView, comm::ReduceOp, const comm::CollectiveOptions&) override {
    return absl::OkStatus();
  }
  absl::Status AllGather(ops::ConstTensorView, ops::TensorView,
                         const comm::CollectiveOptions&) override {
    return absl::OkStatus();
  }
  absl::Status Broadcast(ops::TensorView, int, const comm::CollectiveOptions&) override {
    return absl::OkStatus();
  }
  absl::Status Barrier(const comm::CollectiveOptions&) override { return absl::OkStatus(); }
  void Abort(const absl::Status&) override {}

 private:
  int rank_, world_;
};

TEST(ResidentBytesTest, EachRankHoldsItsShareOfTheWeights) {
  // A tied model (so the head reads every vocabulary row) large enough that pages are small next
  // to the slices: ~85 MB of f32 text weights.
  model::Qwen35Spec spec;
  {
    ASSERT_OK_AND_ASSIGN(spec, model::Qwen35Preset("0.8b"));
    model::TextSpec& t = spec.text;
    t.vocab_size = 8192;
    t.hidden_size = 512;
    t.intermediate_size = 2048;
    t.num_hidden_layers = 4;
    t.layer_types = {model::LayerKind::kLinearAttention, model::LayerKind::kLinearAttention,
                     model::LayerKind::kLinearAttention, model::LayerKind::kFullAttention};
    t.num_heads = 4;
    t.num_kv_heads = 2;
    t.head_dim = 64;
    t.rope.rotary_dim = 16;
    t.rope.mrope_section = {3, 3, 2};
    t.num_k_heads = 4;
    t.num_v_heads = 8;
    t.head_k_dim = 32;
    t.head_v_dim = 32;
    t.tie_word_embeddings = true;
    spec.vision.reset();
  }
  const std::string dir = testing::MakeTempDir();
  tools::RandomModelOptions opts;
  opts.output_dir = dir;
  opts.spec = spec;
  opts.weight_dtype = DType::kF32;
  opts.include_vision = false;
  ASSERT_OK(tools::WriteRandomQwen35Model(opts));
  const std::string file = dir + "/model.safetensors";

  // The expected share, from the tensor list alone: norms whole, KV projections 1/kv_heads when
  // there are fewer KV heads than ranks, everything else 1/T.
  for (int tp : {1, 2, 4}) {
    double expected = 0;
    for (const model::TensorDecl& t : model::ListQwen35Tensors(spec, false)) {
      const double bytes = static_cast<double>(t.num_elements()) * 4;
      const bool norm = absl::StrContains(t.name, "norm");
      const bool kv = absl::StrContains(t.name, "k_proj") || absl::StrContains(t.name, "v_proj");
      expected += norm                                ? bytes
                  : kv && spec.text.num_kv_heads < tp ? bytes / spec.text.num_kv_heads
                                                      : bytes / tp;
    }
    for (int rank : {0, tp - 1}) {
      EvictFromPageCache(file);
      ASSERT_OK_AND_ASSIGN(auto backend, ops::CreateBackend({.cpu_threads = 1}));
      ModelOptions mo;
      mo.max_context = 64;
      mo.max_tokens_per_step = 32;
      NoopCommunicator comm(rank, tp);
      {
        ASSERT_OK_AND_ASSIGN(LoadedModel loaded,
                             LoadQwen35Model(dir, *backend, {.tp_size = tp, .tp_rank = rank}, mo));
        ASSERT_OK(loaded.model->set_communicator(&comm));
        StepPlan plan;
        plan.sequences.push_back({.slot = 0,
                                  .start_index = 0,
                                  .token_ids = {1, 2, 3, 4, 5, 6, 7, 8},
                                  .new_sequence = true});
        ASSERT_OK(loaded.model->Forward(plan).status());
        const double resident =
            static_cast<double>(MappedRss(file) + loaded.model->weights().owned_bytes);
        // Slack: page rounding at both ends of each zero-copy slice. (The file starts uncached and
        // the mapping is MADV_RANDOM, so the kernel maps only pages the loader prefetched: this
        // rank's slices. With the neighbours cached, fault-around and large folios would map
        // their pages too.)
        const ModelWeights& w = loaded.model->weights();
        int64_t pieces = 2;  // embedding (= head when tied) and one spare
        for (const LayerWeights& l : w.layers) {
          for (const LinearWeight* lin :
               {&l.attention.q_proj, &l.attention.k_proj, &l.attention.v_proj, &l.attention.o_proj,
                &l.delta_net.in_proj_qkv, &l.delta_net.in_proj_z, &l.delta_net.in_proj_a,
                &l.delta_net.in_proj_b, &l.delta_net.out_proj, &l.mlp.gate_proj, &l.mlp.up_proj,
                &l.mlp.down_proj}) {
            pieces += static_cast<int64_t>(lin->pieces.size());
          }
        }
        const double slack = static_cast<double>(pieces) * 2 * 4096 + 256 * 1024;
        EXPECT_LE(resident, expected + slack)
            << "T=" << tp << " rank " << rank << " slack " << slack;
        EXPECT_GE(resident, expected * 0.9) << "T=" << tp << " rank " << rank;
        RecordProperty(absl::StrCat("T", tp, "_rank", rank, "_resident_over_expected"),
                       std::to_string(resident / expected));
      }
      EXPECT_EQ(MappedRss(file), 0u) << "the mapping outlived the model";
    }
  }
}

}  // namespace
}  // namespace tpserve::shard
