// The full 0.8B random write (about 1.7 GB of bf16); label `slow`, outside `ctest -L unit`.
#include <chrono>
#include <filesystem>

#include "gtest/gtest.h"
#include "model/checkpoint.h"
#include "model/memory_estimate.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tools/model/random_model.h"

namespace tpserve::shard {
namespace {

TEST(RandomModelSlowTest, WritesZeroPointEightB) {
  const std::string dir = ::tpserve::testing::MakeTempDir() + "/qwen3.5-0.8b-random";
  tools::RandomModelOptions options;
  options.output_dir = dir;
  options.preset = "0.8b";
  const auto start = std::chrono::steady_clock::now();
  ASSERT_OK(tools::WriteRandomQwen35Model(options));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("write_seconds", std::to_string(seconds));
  EXPECT_LT(seconds, 60.0);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<model::Checkpoint> ckpt, model::Checkpoint::Open(dir));
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::LoadQwen35Config(dir));
  EXPECT_TRUE(spec.random_weights);
  EXPECT_EQ(ckpt->total_tensor_bytes(), model::EstimateMemory(spec).weight_bytes.total());
  std::printf("0.8B random model: %.1f s, %zu bytes\n", seconds,
              static_cast<size_t>(std::filesystem::file_size(dir + "/model.safetensors")));
}

}  // namespace
}  // namespace tpserve::shard
