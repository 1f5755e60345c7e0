// Tensor parallelism with real processes, through the tpserve binary: `generate --tp N` gives the
// same tokens at every N, and a follower killed with SIGKILL mid-generation makes the leader fail
// promptly with an error naming the rank, leaving no process behind.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ops/base/subprocess.h"
#include "tests/shard/golden_model.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve {
namespace {

using ::testing::HasSubstr;

std::string RunOk(const std::string& args) {
  std::string out;
  FILE* p = popen(absl::StrCat(TPS_TPSERVE_BIN, " ", args, " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0) << args;
  return out;
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0; }

class TpProcessTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TpProcessTest, GenerateGivesTheSameTokensAtEveryTpSize) {
  ASSERT_OK_AND_ASSIGN(testing::GoldenManifest m, testing::LoadGoldenManifest(GetParam()));
  const testing::GoldenCase* c = nullptr;
  for (const auto& gc : m.cases) {
    if (gc.name == "p37") c = &gc;
  }
  ASSERT_NE(c, nullptr);
  const std::string base = absl::StrCat("generate --model ", m.model_dir, " --prompt-ids ",
                                        absl::StrJoin(c->prompt, ","), " --ignore-eos --json");
  for (int tp : {1, 2, 4}) {
    const std::string out = RunOk(absl::StrCat(base, " --max-tokens 32 --tp ", tp));
    const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), c->greedy_tokens) << "tp " << tp;
  }
  const std::string sampled = " --max-tokens 20 --temperature 1 --top-p 0.9 --seed 99 --tp ";
  const std::string t1 = RunOk(base + sampled + "1");
  const nlohmann::json j1 = nlohmann::json::parse(t1, nullptr, false);
  ASSERT_FALSE(j1.is_discarded()) << t1;
  for (int tp : {2, 4}) {
    const nlohmann::json jn =
        nlohmann::json::parse(RunOk(base + sampled + std::to_string(tp)), nullptr, false);
    ASSERT_FALSE(jn.is_discarded());
    EXPECT_EQ(jn.at("tokens"), j1.at("tokens")) << "tp " << tp;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, TpProcessTest,
                         ::testing::Values("tiny_r1_tied", "tiny_r2_untied", "tiny_r3_bf16"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// Starts `tpserve generate --tp 4` on a long greedy generation, waits until the group is ready
// and generating, SIGKILLs one follower, and checks the leader's end.
TEST(TpFaultTest, KilledFollowerFailsTheLeaderPromptlyAndLeavesNoProcess) {
  const std::string model = testing::GoldenModelDir("tiny_r2_untied");
  ASSERT_OK_AND_ASSIGN(
      Subprocess leader,
      Subprocess::Exec({TPS_TPSERVE_BIN, "generate", "--model", model, "--prompt-ids", "1,2,3",
                        "--max-tokens", "200000", "--ignore-eos", "--tp", "4"},
                       {.out = Redirect::Null(), .err = Redirect::Pipe()}));
  const int err_fd = leader.stderr_fd();
  // Read stderr until the group reports its follower pids.
  std::string err;
  std::vector<pid_t> followers;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (followers.empty() && absl::Now() < deadline) {
    pollfd p{err_fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(err_fd, buf, sizeof(buf));
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
    const size_t at = err.find("follower pids ");
    if (at != std::string::npos && err.find('\n', at) != std::string::npos) {
      const std::string list = err.substr(at + 14, err.find('\n', at) - at - 14);
      for (absl::string_view s : absl::StrSplit(list, ',')) {
        int pid = 0;
        if (absl::SimpleAtoi(s, &pid)) followers.push_back(pid);
      }
    }
  }
  ASSERT_EQ(followers.size(), 3u) << err;
  absl::SleepFor(absl::Milliseconds(300));  // mid-generation
  ASSERT_TRUE(leader.Running()) << "leader ended before the kill:\n" << err;
  ASSERT_EQ(kill(followers[1], SIGKILL), 0);  // rank 2
  const absl::Time killed = absl::Now();

  // The leader must end on its own, promptly (the collective timeout is 30 s; a dead peer's
  // sockets close, so it should be far quicker).
  const std::optional<int> status = leader.WaitFor(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "leader hung after a follower died";
  EXPECT_LT(absl::Now() - killed, absl::Seconds(10));
  char buf[4096];
  ssize_t n;
  while ((n = read(err_fd, buf, sizeof(buf))) > 0) err.append(buf, static_cast<size_t>(n));
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << err;
  EXPECT_THAT(err, HasSubstr("rank 2"));
  EXPECT_THAT(err, HasSubstr("killed by signal 9"));
  // No follower survives the leader (reaped by it, or killed with it).
  absl::SleepFor(absl::Milliseconds(200));
  for (pid_t p : followers) EXPECT_FALSE(Alive(p)) << "follower " << p << " still running";
}

}  // namespace
}  // namespace tpserve
