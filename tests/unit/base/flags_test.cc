// The generic command-line parser (ops/base/flags.h), and the flags the binaries share being
// defined once: tpserve-worker and the tpserve CLI report the same bound for --max-context.
#include "ops/base/flags.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/cli/common_flags.h"
#include "worker/rank_flags.h"
#include "worker/worker_flags.h"

namespace tpserve {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::tpserve::testing::StatusIs;

constexpr StringFlag kName{
    .name = "name", .value_name = "NAME", .help = "a name", .default_value = "anon"};
constexpr IntFlag kCount{.name = "count",
                         .value_name = "N",
                         .help = "how many",
                         .default_value = 3,
                         .min = 1,
                         .max = 64};
constexpr DoubleFlag kRatio{
    .name = "ratio", .value_name = "R", .help = "a ratio", .default_value = 0.5};
constexpr BoolFlag kVerbose{.name = "verbose", .help = "say more"};
constexpr StringFlag kIds{.name = "ids", .value_name = "IDS", .help = "ids"};

const FlagList& Flags() {
  static const FlagList* const flags = new FlagList{kName, kCount, kRatio, kVerbose, kIds};
  return *flags;
}

absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& argv) {
  return CommandLine::Parse(argv, Flags());
}

TEST(FlagsTest, BothSpellingsAndDefaults) {
  ASSERT_OK_AND_ASSIGN(CommandLine a, Parse({"--name", "x", "--count=7", "--ratio", "0.25"}));
  EXPECT_EQ(a.Get(kName), "x");
  ASSERT_OK_AND_ASSIGN(const int64_t seven, a.Get(kCount));
  EXPECT_EQ(seven, 7);
  ASSERT_OK_AND_ASSIGN(const double ratio, a.Get(kRatio));
  EXPECT_EQ(ratio, 0.25);
  ASSERT_OK_AND_ASSIGN(CommandLine b, Parse({"--name=y", "--count", "8"}));
  EXPECT_EQ(b.Get(kName), "y");
  ASSERT_OK_AND_ASSIGN(const int64_t count, b.Get(kCount));
  EXPECT_EQ(count, 8);
  // "=" splits at the first one: the value may hold more.
  ASSERT_OK_AND_ASSIGN(CommandLine c, Parse({"--name=a=b"}));
  EXPECT_EQ(c.Get(kName), "a=b");
  ASSERT_OK_AND_ASSIGN(CommandLine d, Parse({}));
  EXPECT_EQ(d.Get(kName), "anon");
  ASSERT_OK_AND_ASSIGN(const int64_t fallback, d.Get(kCount));
  EXPECT_EQ(fallback, 3);
  EXPECT_FALSE(d.Has(kName));
  EXPECT_FALSE(d.help());
}

TEST(FlagsTest, BooleanFlagsTakeNoValue) {
  ASSERT_OK_AND_ASSIGN(CommandLine on, Parse({"--verbose", "--name", "x"}));
  EXPECT_TRUE(on.Get(kVerbose));
  EXPECT_EQ(on.Get(kName), "x");
  ASSERT_OK_AND_ASSIGN(CommandLine off, Parse({}));
  EXPECT_FALSE(off.Get(kVerbose));
  EXPECT_THAT(Parse({"--verbose=yes"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--verbose: takes no value, got 'yes'")));
}

TEST(FlagsTest, HelpInEitherSpellingStopsParsing) {
  for (const char* help : {"--help", "-h"}) {
    ASSERT_OK_AND_ASSIGN(CommandLine cl, Parse({"--count", "2", help, "--bogus"}));
    EXPECT_TRUE(cl.help()) << help;
  }
}

TEST(FlagsTest, UnknownFlagsAndStrayArgumentsAreNamed) {
  EXPECT_THAT(Parse({"--nmae", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag --nmae")));
  EXPECT_THAT(Parse({"name"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("unexpected argument 'name'")));
  EXPECT_THAT(Parse({"-v"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unexpected argument '-v'")));
}

TEST(FlagsTest, AMissingValueIsNamed) {
  EXPECT_THAT(Parse({"--name"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("--name: missing value (NAME)")));
  EXPECT_THAT(Parse({"--verbose", "--count"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--count: missing value")));
}

TEST(FlagsTest, NonNumbersNameTheFlagTheRangeAndTheValue) {
  ASSERT_OK_AND_ASSIGN(CommandLine cl, Parse({"--count", "many", "--ratio", "half"}));
  EXPECT_THAT(cl.Get(kCount),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--count: must be an integer in [1, 64], got 'many'")));
  EXPECT_THAT(cl.Get(kRatio), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("--ratio: must be a number, got 'half'")));
  ASSERT_OK_AND_ASSIGN(CommandLine list, Parse({"--ids", "1, 2,,x"}));
  EXPECT_THAT(list.GetIntList(kIds),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--ids: 'x' is not an integer (expected e.g. 1,2,3)")));
  ASSERT_OK_AND_ASSIGN(CommandLine good, Parse({"--ids", "1, 2,,3"}));
  ASSERT_OK_AND_ASSIGN(const std::vector<int32_t> ids, good.GetIntList(kIds));
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2, 3}));
}

TEST(FlagsTest, OutOfRangeNamesTheRange) {
  for (const char* v : {"0", "65", "-1", "99999999999999999999999"}) {
    ASSERT_OK_AND_ASSIGN(CommandLine cl, Parse({"--count", v}));
    EXPECT_THAT(
        cl.Get(kCount),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr(absl::StrCat("--count: must be an integer in [1, 64], got '", v, "'"))));
  }
  ASSERT_OK_AND_ASSIGN(CommandLine edge, Parse({"--count", "64"}));
  EXPECT_TRUE(edge.Get(kCount).ok());
  // One-sided bounds.
  constexpr IntFlag kAtLeastOne{.name = "n", .value_name = "N", .min = 1};
  ASSERT_OK_AND_ASSIGN(CommandLine n, CommandLine::Parse({"--n", "0"}, {kAtLeastOne}));
  EXPECT_THAT(n.Get(kAtLeastOne), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("--n: must be an integer >= 1, got '0'")));
}

TEST(FlagsTest, AHugeValueIsEchoedOnlyAsAShortPrefix) {
  const std::string huge(100 * 1024, '7');
  ASSERT_OK_AND_ASSIGN(CommandLine cl, Parse({"--count", huge}));
  const absl::Status s = cl.Get(kCount).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          AllOf(HasSubstr("--count: must be an integer in [1, 64]"),
                                HasSubstr(absl::StrCat("'", std::string(kMaxEchoedValueBytes, '7'),
                                                       "...' (102400 bytes)")))));
  EXPECT_LT(s.message().size(), 200u);
  // The same for an unknown flag's name and a stray argument.
  EXPECT_LT(Parse({absl::StrCat("--", huge)}).status().message().size(), 200u);
  EXPECT_LT(Parse({huge}).status().message().size(), 200u);
  // A prefix is never cut inside a UTF-8 character.
  std::string accents;
  for (int i = 0; i < 40; ++i) accents += "\xC3\xA9";  // é
  EXPECT_EQ(EchoValue(accents), absl::StrCat("'", accents.substr(0, 32), "...' (80 bytes)"));
  EXPECT_EQ(EchoValue(absl::StrCat("x", accents)),
            absl::StrCat("'x", accents.substr(0, 30), "...' (81 bytes)"));
}

TEST(FlagsTest, RepeatedFlagsKeepEveryValueAndTheLastWins) {
  ASSERT_OK_AND_ASSIGN(CommandLine cl, Parse({"--name", "a", "--name=b"}));
  EXPECT_EQ(cl.Get(kName), "b");
  EXPECT_EQ(cl.GetAll(kName), (std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(cl.Required(kIds), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("missing required flag --ids IDS")));
}

TEST(FlagsTest, UsageListsEveryFlagWithItsDefault) {
  const std::string usage = FlagUsage(Flags());
  EXPECT_THAT(usage, HasSubstr("  --name NAME"));
  EXPECT_THAT(usage, HasSubstr("a name (default anon)"));
  EXPECT_THAT(usage, HasSubstr("how many (default 3; in [1, 64])"));
  EXPECT_THAT(usage, HasSubstr("  --verbose"));
  EXPECT_THAT(usage, Not(HasSubstr("ids (default")));
  for (absl::string_view line : absl::StrSplit(usage, '\n')) EXPECT_LE(line.size(), 100u);
  EXPECT_EQ(FlagArgs(kCount, "5"), (std::vector<std::string>{"--count", "5"}));
}

// The regression test of the disagreement this parser ended: --max-context was [2, 2^24] in
// tpserve-worker and [1, 2^30] in the CLI. Both now read worker::kMaxContextFlag.
TEST(SharedFlagsTest, WorkerAndCliReportTheSameMaxContextBound) {
  for (const char* bad : {"0", "16777217"}) {
    const absl::Status worker =
        worker::ParseWorkerFlags({"--coordinator", "c:1", "--max-context", bad}).status();
    ASSERT_OK_AND_ASSIGN(
        CommandLine cl,
        CommandLine::Parse({"--max-context", bad}, cli::ModelFlagList(worker::kMaxContextFlag)));
    const absl::Status cli = cli::ParseModelFlags(cl).status();
    EXPECT_THAT(worker, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("--max-context: must be an integer in [1, 16777216]")));
    EXPECT_EQ(worker.message(), cli.message()) << bad;
  }
  for (const char* good : {"1", "16777216"}) {
    EXPECT_TRUE(worker::ParseWorkerFlags({"--coordinator", "c:1", "--max-context", good}).ok());
    ASSERT_OK_AND_ASSIGN(
        CommandLine cl,
        CommandLine::Parse({"--max-context", good}, cli::ModelFlagList(worker::kMaxContextFlag)));
    EXPECT_TRUE(cli::ParseModelFlags(cl).ok()) << good;
  }
}

// The group size: --world-size (worker) and --tp (CLI) have the one bound of ParallelLayout.
TEST(SharedFlagsTest, GroupSizeBoundIsTheParallelLayouts) {
  const std::string range =
      absl::StrCat("must be an integer in [1, ", model::kMaxTensorParallel, "]");
  EXPECT_THAT(
      worker::ParseWorkerFlags({"--coordinator", "c:1", "--model", "m", "--world-size", "65"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(absl::StrCat("--world-size: ", range))));
  ASSERT_OK_AND_ASSIGN(
      CommandLine cl,
      CommandLine::Parse({"--tp", "65"}, cli::ModelFlagList(worker::kMaxContextFlag)));
  EXPECT_THAT(cli::ParseModelFlags(cl), StatusIs(absl::StatusCode::kInvalidArgument,
                                                 HasSubstr(absl::StrCat("--tp: ", range))));
  ASSERT_OK_AND_ASSIGN(
      CommandLine tp,
      CommandLine::Parse({"--tp", "4"}, cli::ModelFlagList(worker::kMaxContextFlag)));
  ASSERT_OK_AND_ASSIGN(cli::ModelFlags flags, cli::ParseModelFlags(tp));
  EXPECT_EQ(flags.layout.tp_size, 4);
  EXPECT_EQ(flags.layout.tp_rank, 0);
}

}  // namespace
}  // namespace tpserve
