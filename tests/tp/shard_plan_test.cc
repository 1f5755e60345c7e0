// The shard plan as data: at T = 1, 2, 4 the ranks' slices put together are exactly the full
// tensors (on the golden checkpoints, byte for byte) and cover every index the right number of
// times (also for the real 27B shapes); T that does not divide a head count is refused by name.
#include "shard/shard_plan.h"

#include <cstring>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/checkpoint.h"
#include "model/model_tensors.h"
#include "model/tensor_slice.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::shard {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

bool IsTextTensor(const std::string& name) { return name.rfind("model.visual.", 0) != 0; }

// How many ranks hold each index of the split dim.
std::vector<int> Coverage(const ShardSpec& spec, int64_t dim, int tp) {
  std::vector<int> count(static_cast<size_t>(dim), 0);
  for (int r = 0; r < tp; ++r) {
    auto ranges = RankRanges(spec, dim, tp, r);
    EXPECT_OK(ranges);
    if (!ranges.ok()) return count;
    for (const SliceRange& s : *ranges)
      for (int64_t i = s.begin; i < s.end; ++i) ++count[static_cast<size_t>(i)];
  }
  return count;
}

void CheckCoverage(const model::Qwen35Spec& spec, int tp) {
  ASSERT_OK_AND_ASSIGN(ShardPlan plan, ShardPlan::Make(spec, tp));
  for (const model::TensorDecl& t : model::ListQwen35Tensors(spec, /*include_vision=*/false)) {
    ASSERT_OK_AND_ASSIGN(ShardSpec s, plan.SpecFor(t.name));
    const int64_t dim = t.shape[static_cast<size_t>(s.dim)];
    const std::vector<int> count = Coverage(s, dim, tp);
    const bool kv =
        t.name.find("k_proj") != std::string::npos || t.name.find("v_proj") != std::string::npos;
    const int expect = s.kind == SplitKind::kReplicated ? tp
                       : kv && spec.text.num_kv_heads < tp
                           ? tp / static_cast<int>(spec.text.num_kv_heads)
                           : 1;
    for (int64_t i = 0; i < dim; ++i) {
      ASSERT_EQ(count[static_cast<size_t>(i)], expect)
          << t.name << " index " << i << " at T=" << tp;
    }
  }
}

TEST(ShardPlanTest, Real27BShapesAreCoveredExactly) {
  for (const char* preset : {"27b", "3.6-27b", "0.8b", "9b"}) {
    ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset(preset));
    for (int tp : {1, 2, 4}) CheckCoverage(spec, tp);
  }
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("27b"));
  CheckCoverage(spec, 8);  // 4 KV heads replicated over 8 ranks
}

TEST(ShardPlanTest, TpThatDoesNotDivideAHeadCountIsNamed) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("27b"));
  EXPECT_THAT(ShardPlan::Make(spec, 16).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_attention_heads 24")));
  EXPECT_THAT(ShardPlan::Make(spec, 5).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tp_size 5 does not divide")));
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec small, model::Qwen35Preset("0.8b"));
  EXPECT_THAT(ShardPlan::Make(small, 3).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not divide num_attention_heads 8")));
}

TEST(ShardPlanTest, UnknownTensorHasNoRule) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("0.8b"));
  ASSERT_OK_AND_ASSIGN(ShardPlan plan, ShardPlan::Make(spec, 2));
  EXPECT_THAT(plan.SpecFor("model.language_model.layers.0.mlp.gate_proj.bias").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

class GoldenShardsTest : public ::testing::TestWithParam<std::string> {};

// Reassembles every text tensor of a golden checkpoint from the ranks' slices (read with the same
// slicing calls the loader uses) and compares the bytes with the whole tensor.
TEST_P(GoldenShardsTest, RankSlicesReassembleTheFullTensors) {
  const std::string dir = testing::GoldenModelDir(GetParam());
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::LoadQwen35Config(dir));
  ASSERT_OK_AND_ASSIGN(auto ckpt, model::Checkpoint::Open(dir));
  for (int tp : {1, 2, 4}) {
    ASSERT_OK_AND_ASSIGN(ShardPlan plan, ShardPlan::Make(spec, tp));
    for (const std::string& name : ckpt->TensorNames()) {
      if (!IsTextTensor(name)) continue;
      ASSERT_OK_AND_ASSIGN(model::TensorInfo info, ckpt->Find(name));
      ASSERT_OK_AND_ASSIGN(ShardSpec s, plan.SpecFor(name));
      ASSERT_OK_AND_ASSIGN(DType dtype, info.RequireDType());
      const size_t esize = DTypeSize(dtype);
      // inner = bytes of one index of the split dim's sub-block; outer = blocks before it.
      int64_t outer = 1, inner = 1;
      for (int d = 0; d < static_cast<int>(info.shape.size()); ++d) {
        if (d < s.dim) outer *= info.shape[static_cast<size_t>(d)];
        if (d > s.dim) inner *= info.shape[static_cast<size_t>(d)];
      }
      const int64_t dim = info.shape[static_cast<size_t>(s.dim)];
      std::vector<std::byte> rebuilt(info.byte_size, std::byte{0xAB});
      for (int r = 0; r < tp; ++r) {
        ASSERT_OK_AND_ASSIGN(std::vector<SliceRange> ranges, RankRanges(s, dim, tp, r));
        for (const SliceRange& range : ranges) {
          std::vector<std::byte> part(static_cast<size_t>(outer * range.size() * inner) * esize);
          ASSERT_OK(ckpt->CopySlice(name, s.dim, range.begin, range.end, dtype, part.data(),
                                    part.size()));
          for (int64_t o = 0; o < outer; ++o) {
            std::memcpy(&rebuilt[static_cast<size_t>((o * dim + range.begin) * inner) * esize],
                        &part[static_cast<size_t>(o * range.size() * inner) * esize],
                        static_cast<size_t>(range.size() * inner) * esize);
          }
        }
      }
      ASSERT_EQ(std::memcmp(rebuilt.data(), info.data, info.byte_size), 0)
          << name << " at T=" << tp;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenShardsTest,
                         ::testing::Values("tiny_r1_tied", "tiny_r2_untied", "tiny_r3_bf16"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace tpserve::shard
