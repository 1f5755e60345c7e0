#include <fstream>

#include "coordinator/catalogue.h"
#include "coordinator/placement.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace cpb = ::tpserve::cluster::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

constexpr uint64_t kGiB = 1ull << 30;

cpb::DeviceInfo Device(const std::string& kind, uint64_t free_bytes) {
  cpb::DeviceInfo d;
  d.set_kind(kind);
  d.set_total_memory_bytes(free_bytes * 2);
  d.set_free_memory_bytes(free_bytes);
  return d;
}

std::unique_ptr<Catalogue> ThreeTierCatalogue() {
  const std::string small = testing::MakeModelDir({.preset = "0.8b"});
  const std::string mid = testing::MakeModelDir({.preset = "4b"});
  const std::string big = testing::MakeModelDir({.preset = "27b"});
  const std::string text = R"({"models": [
    {"name": "small", "path": ")" +
                           small + R"("},
    {"name": "mid", "path": ")" +
                           mid + R"(", "device_kinds": ["cuda", "cpu"]},
    {"name": "big", "path": ")" +
                           big + R"(", "tp_sizes": [1, 4]}]})";
  absl::StatusOr<std::unique_ptr<Catalogue>> c = Catalogue::FromJsonText(text, "cat.json", "");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

TEST(CatalogueTest, ListedModelsGetTierCapabilitiesAndMemory) {
  std::unique_ptr<Catalogue> c = ThreeTierCatalogue();
  ASSERT_NE(c, nullptr);
  std::optional<ModelEntry> big = c->Find("big");
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->tier, "27b");
  EXPECT_THAT(big->capabilities, ElementsAre("vision", "thinking", "tools"));
  EXPECT_THAT(big->tp_sizes, ElementsAre(1, 4));
  // A quarter of the weights and caches per rank at TP 4 (plus the same workspace share).
  EXPECT_NEAR(static_cast<double>(big->memory_per_rank.at(4)),
              static_cast<double>(big->memory_per_rank.at(1)) / 4, 1.0);
  // 27B in bf16 is over 50 GB.
  EXPECT_GT(big->memory_per_rank.at(1), 50 * kGiB);
  EXPECT_EQ(c->Find("small")->tier, "0.8b");
  EXPECT_THAT(c->Names(), ElementsAre("big", "mid", "small"));
}

TEST(CatalogueTest, RelativePathsAreRelativeToTheFile) {
  const std::string dir = testing::MakeModelDir({.preset = "tiny"});
  const std::string file = dir + "/catalogue.json";
  std::ofstream(file) << R"({"models": [{"name": "t", "path": "."}]})";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalogue> c, Catalogue::FromFile(file));
  EXPECT_EQ(c->Find("t")->tier, "custom");
  ASSERT_OK(c->Assets("t").status());
}

TEST(CatalogueTest, ErrorsNameTheEntryAndKey) {
  const std::string dir = testing::MakeModelDir();
  EXPECT_THAT(Catalogue::FromJsonText(
                  R"({"models": [{"name": "a", "path": ")" + dir + R"(", "tp_size": [2]}]})",
                  "cat.json", "")
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cat.json: models[0]: unknown key 'tp_size'")));
  EXPECT_THAT(Catalogue::FromJsonText(R"({"models": [{"path": "/x"}]})", "cat.json", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("models[0].name: required")));
  EXPECT_THAT(
      Catalogue::FromJsonText(R"({"models": [{"name": "a", "path": "/nope"}]})", "cat.json", "")
          .status(),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nope")));
  EXPECT_THAT(Catalogue::FromJsonText("[1, 2", "cat.json", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid JSON")));
}

TEST(CatalogueTest, DiscoverAddsAModelFromAnAssignment) {
  Catalogue c;
  const std::string dir = testing::MakeModelDir({.vision = false, .random_weights = true});
  ASSERT_OK(c.Discover("m", dir, 2));
  std::optional<ModelEntry> m = c.Find("m");
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->listed);
  EXPECT_EQ(m->tier, "custom");
  EXPECT_THAT(m->capabilities, ElementsAre("thinking", "tools"));
  EXPECT_THAT(m->tp_sizes, ElementsAre(2));
  EXPECT_TRUE(m->spec.random_weights);
  ASSERT_OK(c.Discover("m", dir, 1));
  EXPECT_THAT(c.Find("m")->tp_sizes, ElementsAre(1, 2));
  EXPECT_THAT(c.Discover("x", "/no/such/dir", 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("/no/such/dir")));
}

TEST(PlacementTest, PicksTheLargestTierThatFits) {
  std::unique_ptr<Catalogue> c = ThreeTierCatalogue();
  ASSERT_NE(c, nullptr);
  const uint64_t small_need = c->Find("small")->memory_per_rank.at(1);
  const uint64_t mid_need = c->Find("mid")->memory_per_rank.at(1);
  const uint64_t big_need = c->Find("big")->memory_per_rank.at(1);
  ASSERT_LT(small_need, mid_need);
  ASSERT_LT(mid_need, big_need);

  ASSERT_OK_AND_ASSIGN(cpb::Assignment a, PlaceWorker("w1", Device("cuda", big_need), c->List()));
  EXPECT_EQ(a.model(), "big");
  EXPECT_EQ(a.group(), "auto-w1");
  EXPECT_EQ(a.rank(), 0);
  EXPECT_EQ(a.world_size(), 1);
  EXPECT_EQ(a.model_dir(), c->Find("big")->path);

  ASSERT_OK_AND_ASSIGN(a, PlaceWorker("w2", Device("cuda", big_need - 1), c->List()));
  EXPECT_EQ(a.model(), "mid");
  // "mid" is not allowed on metal.
  ASSERT_OK_AND_ASSIGN(a, PlaceWorker("w3", Device("metal", big_need - 1), c->List()));
  EXPECT_EQ(a.model(), "small");
}

TEST(PlacementTest, NothingFitsNamesTheSmallestNeed) {
  std::unique_ptr<Catalogue> c = ThreeTierCatalogue();
  ASSERT_NE(c, nullptr);
  EXPECT_THAT(PlaceWorker("w", Device("cpu", kGiB / 4), c->List()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("0.25 GiB free"), HasSubstr("small"))));
  EXPECT_THAT(
      PlaceWorker("w", Device("cpu", kGiB), {}).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no catalogue model allows")));
}

TEST(PlacementTest, HeadroomIsPartOfTheNeed) {
  ASSERT_OK_AND_ASSIGN(model::Qwen35Spec spec, model::Qwen35Preset("0.8b"));
  const uint64_t none =
      MemoryPerRank(spec, 1, {.sequences = 0, .tokens = 0, .workspace_fraction = 0});
  const uint64_t headroom = MemoryPerRank(spec, 1, {});
  EXPECT_GT(headroom, none + none / 10);  // 10 % workspace plus the state caches
}

}  // namespace
}  // namespace tpserve::coordinator
