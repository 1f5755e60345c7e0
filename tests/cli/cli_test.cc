// The tpserve binary, run as a user would: exit codes, one-line errors, --json, --logits-out.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ops/base/npy.h"
#include "tests/model/golden_model.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve {
namespace {

using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

RunResult RunTpserve(const std::string& args) {
  const char* bin = TPS_TPSERVE_BIN;
  const std::string dir = testing::MakeTempDir();
  const std::string err_path = dir + "/stderr";
  const std::string cmd = absl::StrCat(bin ? bin : "tpserve", " ", args, " 2>", err_path);
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* e = fopen(err_path.c_str(), "r")) {
    while ((n = fread(buf.data(), 1, buf.size(), e)) > 0) r.err.append(buf.data(), n);
    fclose(e);
  }
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(manifest_, testing::LoadGoldenManifest("tiny_r2_untied"));
  }
  testing::GoldenManifest manifest_;
};

TEST_F(CliTest, GenerateJsonMatchesTransformersGreedy) {
  const testing::GoldenCase& c = manifest_.cases[2];  // p37
  RunResult r = RunTpserve(absl::StrCat("generate --model ", manifest_.model_dir, " --prompt-ids ",
                                 absl::StrJoin(c.prompt, ","), " --max-tokens 32 --json --ignore-eos"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), c.greedy_tokens);
  EXPECT_EQ(j.at("finish_reason"), "length");
  EXPECT_GE(j.at("prefill_ms").get<double>(), 0.0);
  EXPECT_GT(j.at("decode_tokens_per_s").get<double>(), 0.0);
}

TEST_F(CliTest, PlainOutputIsTheIdsOnOneLine) {
  const testing::GoldenCase& c = manifest_.cases[1];  // p7
  RunResult r = RunTpserve(absl::StrCat("generate --model ", manifest_.model_dir, " --prompt-ids ",
                                 absl::StrJoin(c.prompt, ","), " --max-tokens 5 --ignore-eos"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<int32_t> first5(c.greedy_tokens.begin(), c.greedy_tokens.begin() + 5);
  EXPECT_EQ(r.out, absl::StrJoin(first5, " ") + "\n");
}

TEST_F(CliTest, LogitsOutWritesEveryComputedPosition) {
  const testing::GoldenCase& c = manifest_.cases[2];  // p37
  const std::string path = testing::MakeTempDir() + "/logits.npy";
  RunResult r = RunTpserve(absl::StrCat("generate --model ", manifest_.model_dir, " --prompt-ids ",
                                 absl::StrJoin(c.prompt, ","),
                                 " --max-tokens 4 --ignore-eos --prefill-chunk 16 --logits-out ", path));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_OK_AND_ASSIGN(NpyArray a, ReadNpy(path));
  const int64_t p = static_cast<int64_t>(c.prompt.size());
  ASSERT_EQ(a.shape, (std::vector<int64_t>{p + 3, 256}));
  int64_t rows, cols;
  ASSERT_OK_AND_ASSIGN(std::vector<float> prompt_ref, testing::LoadLogits(c.prompt_logits_file, &rows, &cols));
  ASSERT_OK_AND_ASSIGN(std::vector<float> decode_ref, testing::LoadLogits(c.decode_logits_file, &rows, &cols));
  std::vector<float> prompt_got(a.data.begin(), a.data.begin() + p * 256);
  EXPECT_LE(testing::MaxRelError(prompt_got, prompt_ref), 1e-4);
  // Rows p .. p+2 are the logits of decode steps 1..3 (HF decode rows 1..3).
  std::vector<float> decode_got(a.data.begin() + p * 256, a.data.end());
  std::vector<float> decode_want(decode_ref.begin() + 256, decode_ref.begin() + 4 * 256);
  EXPECT_LE(testing::MaxRelError(decode_got, decode_want), 1e-4);
}

TEST_F(CliTest, SameSeedSameTokens) {
  const std::string base = absl::StrCat("generate --model ", manifest_.model_dir,
                                        " --prompt-ids 1,2,3 --max-tokens 24 --ignore-eos"
                                        " --temperature 1.5 --top-k 50 --top-p 0.95 --seed ");
  RunResult a = RunTpserve(base + "7"), b = RunTpserve(base + "7"), c = RunTpserve(base + "8");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST_F(CliTest, BadInputExitsNonZeroWithOneClearLine) {
  struct Case {
    std::string args;
    std::string message;
  };
  const std::string m = manifest_.model_dir;
  const std::vector<Case> cases = {
      {"generate --prompt-ids 1", "missing required flag --model"},
      {"generate --model " + m, "--prompt-ids"},
      {"generate --model " + m + " --prompt-ids 1,x", "'x' is not an integer"},
      {"generate --model " + m + " --prompt-ids 1 --max-tokens 0", "--max-tokens must be > 0"},
      {"generate --model " + m + " --prompt-ids 1 --temperature -1", "temperature"},
      {"generate --model " + m + " --prompt-ids 1 --bogus 3", "unknown flag --bogus"},
      {"generate --model " + m + " --prompt-ids 1,999", "token id 999"},
      {"generate --model /nonexistent/model --prompt-ids 1", "/nonexistent/model"},
      {"frobnicate", "unknown command 'frobnicate'"},
  };
  for (const Case& c : cases) {
    RunResult r = RunTpserve(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args;
    if (c.args != "frobnicate") {
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
    }
  }
}

TEST_F(CliTest, InspectPrintsMemoryNeeds) {
  RunResult r = RunTpserve("inspect --model " + manifest_.model_dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("5 layers: 3 linear_attention + 2 full_attention"));
  EXPECT_THAT(r.out, HasSubstr("kv cache"));
  EXPECT_THAT(r.out, HasSubstr("deltanet state"));
}

}  // namespace
}  // namespace tpserve
