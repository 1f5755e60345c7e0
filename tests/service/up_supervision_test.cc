// `tpserve up` supervises what it starts: a SIGKILLed follower, leader or coordinator is restarted
// and the cluster serves again within a bounded time (printed: detect, restart, re-form); a
// process that always fails is given up on with a message naming it; SIGTERM still stops
// everything. Also: the ready file's random_weights comes from the model's config.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ops/base/subprocess.h"
#include "tests/service/cluster_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The live children of `parent` running build/bin/`binary` (empty: any) whose command line holds
// `args` in a row ({"--rank", "1"}).
std::vector<pid_t> Children(pid_t parent, const std::string& binary = "",
                            const std::vector<std::string>& args = {}) {
  std::vector<pid_t> out;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(e.path().filename().string(), &pid)) continue;
    const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 > stat.size()) continue;
    const std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
    pid_t ppid = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid) || ppid != parent) continue;
    if (fields[0] == "Z") continue;
    const std::vector<std::string> argv =
        absl::StrSplit(ReadFile(absl::StrCat("/proc/", pid, "/cmdline")), '\0');
    if (!binary.empty() && (argv.empty() || !absl::EndsWith(argv[0], "/" + binary))) continue;
    bool found = args.empty();
    for (size_t i = 0; !found && i + args.size() <= argv.size(); ++i) {
      found = std::equal(args.begin(), args.end(), argv.begin() + static_cast<ptrdiff_t>(i));
    }
    if (found) out.push_back(pid);
  }
  return out;
}

pid_t OneChild(pid_t parent, const std::string& binary, const std::vector<std::string>& args = {}) {
  const std::vector<pid_t> c = Children(parent, binary, args);
  return c.size() == 1 ? c[0] : -1;
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

// `tpserve up` in the background, its stderr in a file.
class Up {
 public:
  static absl::StatusOr<Up> Start(const std::vector<std::string>& flags) {
    Up up;
    up.dir_ = MakeTempDir();
    std::vector<std::string> argv = {std::string(TPS_BIN_DIR) + "/tpserve",
                                     "up",
                                     "--port",
                                     "0",
                                     "--threads",
                                     "1",
                                     "--max-slots",
                                     "4",
                                     "--max-context",
                                     "1024",
                                     "--ready-file",
                                     up.ready_file(),
                                     "--log-dir",
                                     up.dir_ + "/logs"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    absl::StatusOr<Subprocess> p = Subprocess::Exec(
        argv, {.out = Redirect::File(up.dir_ + "/up.out"), .err = Redirect::File(up.err_path())});
    if (!p.ok()) return p.status();
    up.process_.emplace(*std::move(p));
    return up;
  }

  std::string ready_file() const { return dir_ + "/ready.json"; }
  std::string err_path() const { return dir_ + "/up.err"; }
  std::string err() const { return ReadFile(err_path()); }
  Subprocess& process() { return *process_; }
  pid_t pid() const { return process_->pid(); }

  absl::StatusOr<nlohmann::json> WaitReady(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      nlohmann::json j = nlohmann::json::parse(ReadFile(ready_file()), nullptr, false);
      if (!j.is_discarded() && j.is_object()) return j;
      if (!process_->Running()) {
        return absl::UnavailableError(
            absl::StrCat("tpserve up ", process_->DescribeExit(), ":\n", err()));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::DeadlineExceededError("tpserve up not ready:\n" + err());
  }

  // Waits until stderr, past its first `from` bytes, has a line containing `text`; the time it
  // was seen.
  absl::StatusOr<absl::Time> WaitForLine(const std::string& text, size_t from,
                                         absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      const std::string e = err();
      if (e.size() > from && absl::StrContains(e.substr(from), text)) return absl::Now();
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::DeadlineExceededError(absl::StrCat("no '", text, "' from tpserve up:\n", err()));
  }

 private:
  std::string dir_;
  std::optional<Subprocess> process_;
};

v1::ChatRequest Request(const std::string& text) {
  v1::ChatRequest r;
  r.set_model("tiny");
  auto* m = r.add_messages();
  m->set_role("user");
  m->add_content()->set_text(text);
  r.set_max_tokens(3);
  r.set_enable_thinking(false);
  return r;
}

absl::Status ChatOnce(const std::string& address) {
  absl::StatusOr<std::unique_ptr<cli::ChatClient>> client =
      cli::ChatClient::Connect({.address = address});
  if (!client.ok()) return client.status();
  return (*client)->Chat(Request("hello"), [](const v1::Delta&) {}).status();
}

// Chats until one succeeds; the time it did.
absl::StatusOr<absl::Time> ChatUntilServed(const std::string& address, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  while (absl::Now() < deadline) {
    last = ChatOnce(address);
    if (last.ok()) return absl::Now();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no chat served in time; last: ", last.message()));
}

double Secs(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// SIGKILLs `pid` (the child `name` of up) and measures until a chat is served again.
void KillAndMeasure(Up& up, const std::string& address, const std::string& name, pid_t pid) {
  ASSERT_GT(pid, 0) << name << " not found among the children of tpserve up";
  const size_t from = up.err().size();
  const absl::Time killed = absl::Now();
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_OK_AND_ASSIGN(const absl::Time detected,
                       up.WaitForLine(absl::StrCat(name, " (pid ", pid, " was killed by signal 9"),
                                      from, absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(const absl::Time restarted,
                       up.WaitForLine(name + " restarted (pid", from, absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(const absl::Time served, ChatUntilServed(address, absl::Seconds(20)));
  std::printf("[ measured ] SIGKILL %s: exit seen %.2f s, restarted %.2f s, chat served %.2f s\n",
              name.c_str(), Secs(detected - killed), Secs(restarted - killed),
              Secs(served - killed));
  std::fflush(stdout);
  EXPECT_LT(served - killed, absl::Seconds(15)) << name;
  EXPECT_TRUE(up.process().Running()) << up.err();
}

TEST(UpSupervisionTest, KilledRanksAndCoordinatorComeBackAndSigtermStopsAll) {
  ASSERT_OK_AND_ASSIGN(Up up, Up::Start({"--model", TinyModelDir(), "--model-name", "tiny", "--tp",
                                         "2", "--restart-backoff-ms", "200"}));
  ASSERT_OK_AND_ASSIGN(const nlohmann::json ready, up.WaitReady(absl::Seconds(60)));
  // The tiny model is a random-weight one: the ready file says so, as ListModels does.
  EXPECT_EQ(ready.at("random_weights"), true) << ready.dump();
  const std::string address = ready.at("address");
  {
    ASSERT_OK_AND_ASSIGN(auto client, cli::ChatClient::Connect({.address = address}));
    ASSERT_OK_AND_ASSIGN(const v1::ListModelsResponse models, client->ListModels());
    ASSERT_EQ(models.models_size(), 1);
    EXPECT_TRUE(models.models(0).random_weights());
  }
  ASSERT_OK(ChatOnce(address));

  KillAndMeasure(up, address, "worker g0 rank 1",
                 OneChild(up.pid(), "tpserve-worker", {"--rank", "1"}));
  KillAndMeasure(up, address, "worker g0 rank 0",
                 OneChild(up.pid(), "tpserve-worker", {"--rank", "0"}));
  KillAndMeasure(up, address, "coordinator", OneChild(up.pid(), "tpserve-coordinator"));

  // SIGTERM: every child stops, tpserve up exits 0.
  const std::vector<pid_t> children = Children(up.pid());
  EXPECT_EQ(children.size(), 3u);
  up.process().Signal(SIGTERM);
  const std::optional<int> status = up.process().WaitFor(absl::Seconds(20));
  ASSERT_TRUE(status.has_value()) << "tpserve up did not stop on SIGTERM";
  EXPECT_EQ(up.process().exit_code(), 0) << up.err();
  for (pid_t c : children) EXPECT_FALSE(Alive(c)) << "child " << c << " outlived tpserve up";
}

TEST(UpSupervisionTest, AProcessThatAlwaysFailsIsGivenUpOnWithAClearMessage) {
  // A model directory without weights: the config and tokenizer are fine (tpserve up and the
  // coordinator accept it), the worker fails to load every time.
  const std::string broken = MakeTempDir() + "/no-weights";
  fs::create_directories(broken);
  for (const fs::directory_entry& e : fs::directory_iterator(TinyModelDir())) {
    if (!absl::StrContains(e.path().filename().string(), "safetensors")) {
      fs::copy(e.path(), broken / e.path().filename());
    }
  }
  const absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(Up up, Up::Start({"--model", broken, "--model-name", "tiny", "--tp", "1",
                                         "--max-restarts", "2", "--restart-backoff-ms", "50"}));
  const std::optional<int> status = up.process().WaitFor(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "tpserve up kept running:\n" << up.err();
  std::printf("[ measured ] gave up after %.2f s\n", Secs(absl::Now() - start));
  EXPECT_NE(up.process().exit_code(), 0);
  const std::string err = up.err();
  EXPECT_THAT(err, HasSubstr("tpserve up: giving up on worker g0 rank 0 (pid "));
  EXPECT_THAT(err, HasSubstr("exited with code 1"));
  EXPECT_THAT(err, HasSubstr("it failed 3 times in a row, restarted 2 time(s) in all"));
  EXPECT_THAT(err, HasSubstr("worker-g0-r0.log"));
  EXPECT_THAT(err, HasSubstr("restarting in 0.1 s (failure 2 in a row; given up at 3)"));
  EXPECT_FALSE(fs::exists(up.ready_file()));
}

}  // namespace
}  // namespace tpserve::testing
