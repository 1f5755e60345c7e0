// `tpserve generate --image`, run as a user would: a chat turn with an image gives transformers'
// greedy tokens (the chat template, placeholder expansion and M-RoPE positions all on the CLI
// path), at --tp 1 and through a local --tp 2 group (image bytes in the step plans to the
// follower); --prompt-ids with the placeholder once per image; and one-line errors.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tests/vision/vision_golden.h"

namespace tpserve {
namespace {

using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunTpserve(const std::string& args) {
  const std::string dir = testing::MakeTempDir();
  const std::string cmd = absl::StrCat(TPS_TPSERVE_BIN, " ", args, " 2>", dir, "/stderr");
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (auto e = testing::ReadFileBytes(dir + "/stderr"); e.ok()) r.err = *e;
  return r;
}

class VisionCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(m_, testing::LoadVisionManifest()); }
  testing::VisionManifest m_;
};

TEST_F(VisionCliTest, ChatWithAnImageMatchesTransformersAtTp1AndTp2) {
  int checked = 0;
  for (const testing::VisionCase& c : m_.cases) {
    if (!c.chat) continue;
    // The fixture's chat prompt: one user turn [image, text] with thinking off.
    const std::string text = c.name == "one_px" ? "What is this?" : "Describe this image.";
    for (const char* tp : {"1", "2"}) {
      RunResult r = RunTpserve(
          absl::StrCat("generate --model ", m_.model_dir, " --chat --no-think", " --prompt '", text,
                       "' --image ", m_.ImagePath(c.images[0]), " --max-tokens ",
                       c.greedy_tokens.size(), " --ignore-eos --json --tp ", tp));
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const nlohmann::json j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j.at("prompt_tokens").get<size_t>(), c.prompt.size()) << c.name;
      EXPECT_EQ(j.at("image_tokens")[0].get<int64_t>(), c.image_tokens[0]);
      EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), c.greedy_tokens)
          << c.name << " tp " << tp;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST_F(VisionCliTest, PromptIdsTakeOnePlaceholderPerImageOrTheFullExpansion) {
  const testing::VisionCase& c = m_.cases.back();  // two_images
  ASSERT_EQ(c.name, "two_images");
  // Collapse each image's run of pad tokens to one placeholder.
  std::vector<int32_t> collapsed;
  for (size_t i = 0; i < c.prompt.size(); ++i) {
    if (c.prompt[i] == 263 && i > 0 && c.prompt[i - 1] == 263) continue;
    collapsed.push_back(c.prompt[i]);
  }
  const std::string images =
      absl::StrCat(" --image ", m_.ImagePath(c.images[0]), " --image ", m_.ImagePath(c.images[1]));
  for (const std::vector<int32_t>& ids : {collapsed, c.prompt}) {
    RunResult r = RunTpserve(absl::StrCat("generate --model ", m_.model_dir, " --prompt-ids ",
                                          absl::StrJoin(ids, ","), images, " --max-tokens ",
                                          c.greedy_tokens.size(), " --ignore-eos"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, absl::StrJoin(c.greedy_tokens, " ") + "\n");
  }
}

TEST_F(VisionCliTest, BadImageRequestsExitWithOneClearLine) {
  const std::string m = m_.model_dir;
  const std::string png = m_.ImagePath("one_px.png");
  struct Case {
    std::string args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"generate --model " + m + " --prompt-ids 1,2 --image " + png,
            "0 image placeholder(s) (token 263) for 1 image(s)"},
           {"generate --model " + m + " --prompt-ids 1,263 --image /nonexistent.png",
            "cannot read /nonexistent.png"},
           {"generate --model " + m + " --prompt-ids 1,263 --image " + m + "/config.json",
            "unsupported format"},
           {"generate --model " + testing::GoldenModelDir("tiny_r2_untied") +
                " --prompt-ids 1,263 --image " + png,
            "has no vision tower"}}) {
    RunResult r = RunTpserve(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace tpserve
