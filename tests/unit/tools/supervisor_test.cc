// Supervisor (tools/cli/supervisor.h) on real /bin/sh children: restarts with a doubling backoff,
// gives up after max_restarts restarts in a row and says so, forgets a streak after a stable run,
// stops everything (SIGKILL for a child that ignores SIGTERM).
#include "tools/cli/supervisor.h"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::cli {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> Sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

int CountLines(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// Polls until `done` or `timeout`; the events seen.
std::vector<Supervisor::Event> PollUntil(Supervisor& s, const std::function<bool()>& done,
                                         absl::Duration timeout = absl::Seconds(10)) {
  std::vector<Supervisor::Event> all;
  const absl::Time until = absl::Now() + timeout;
  while (!done() && absl::Now() < until) {
    for (Supervisor::Event& e : s.Poll()) all.push_back(std::move(e));
    absl::SleepFor(absl::Milliseconds(5));
  }
  return all;
}

TEST(RestartDelayTest, DoublesUpToTheCap) {
  const RestartPolicy p{.initial_backoff = absl::Milliseconds(500),
                        .max_backoff = absl::Seconds(10)};
  EXPECT_EQ(RestartDelay(p, 1), absl::Milliseconds(500));
  EXPECT_EQ(RestartDelay(p, 2), absl::Seconds(1));
  EXPECT_EQ(RestartDelay(p, 3), absl::Seconds(2));
  EXPECT_EQ(RestartDelay(p, 5), absl::Seconds(8));
  EXPECT_EQ(RestartDelay(p, 6), absl::Seconds(10));
  EXPECT_EQ(RestartDelay(p, 1000), absl::Seconds(10));
  // An initial wait above the cap is kept as it is.
  EXPECT_EQ(RestartDelay({.initial_backoff = absl::Seconds(20)}, 3), absl::Seconds(20));
}

TEST(SupervisorTest, RestartsAFailingProcessThenGivesUpAndSaysWhy) {
  const std::string dir = testing::MakeTempDir();
  const std::string runs = dir + "/runs";
  std::vector<std::string> lines;
  Supervisor s({.max_restarts = 2,
                .initial_backoff = absl::Milliseconds(40),
                .max_backoff = absl::Milliseconds(200)},
               "up: ", [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_OK_AND_ASSIGN(const int id, s.Start({.name = "flaky",
                                              .argv = Sh("echo run >> " + runs + "; exit 3"),
                                              .log_path = dir + "/flaky.log"}));
  const absl::Time start = absl::Now();
  const std::vector<Supervisor::Event> events = PollUntil(s, [&] { return s.gave_up(id); });
  ASSERT_EQ(events.size(), 5u);  // exit, restart, exit, restart, give up
  EXPECT_EQ(events[1].kind, Supervisor::Event::Kind::kRestarted);
  EXPECT_EQ(events[4].kind, Supervisor::Event::Kind::kGaveUp);
  EXPECT_EQ(events[4].id, id);
  ASSERT_TRUE(s.gave_up(id));
  EXPECT_EQ(CountLines(runs), 3);  // the first run and 2 restarts
  EXPECT_EQ(s.restarts(id), 2);
  EXPECT_EQ(s.failures(id), 3);
  EXPECT_FALSE(s.running(id));
  EXPECT_EQ(s.pid(id), -1);
  // 40 ms, then 80 ms before the restarts.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(120));
  ASSERT_FALSE(lines.empty());
  const std::string& last = lines.back();
  EXPECT_THAT(last, HasSubstr("up: giving up on flaky ("));
  EXPECT_THAT(last, HasSubstr("exited with code 3"));
  EXPECT_THAT(last, HasSubstr("it failed 3 times in a row, restarted 2 time(s) in all"));
  EXPECT_THAT(last, HasSubstr("see " + dir + "/flaky.log"));
  EXPECT_THAT(lines.front(), HasSubstr("flaky (pid "));
  EXPECT_THAT(lines.front(), HasSubstr("exited with code 3 after"));
  EXPECT_THAT(lines.front(), HasSubstr("restarting in "));
  EXPECT_THAT(lines.front(), HasSubstr("(failure 1 in a row; given up at 3)"));
  // Nothing more happens to a process given up on.
  EXPECT_TRUE(s.Poll().empty());
  // Each restart appended to the log; the first start truncated it.
  EXPECT_EQ(CountLines(runs), 3);
}

TEST(SupervisorTest, AKilledProcessIsRestartedAndTheKillIsNamed) {
  std::vector<std::string> lines;
  Supervisor s({.initial_backoff = absl::Milliseconds(10)}, "",
               [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_OK_AND_ASSIGN(const int id, s.Start({.name = "sleeper", .argv = Sh("exec sleep 30")}));
  const pid_t first = s.pid(id);
  ASSERT_GT(first, 0);
  ASSERT_EQ(kill(first, SIGKILL), 0);
  PollUntil(s, [&] { return s.pid(id) > 0 && s.pid(id) != first; });
  EXPECT_NE(s.pid(id), first);
  EXPECT_TRUE(s.running(id));
  EXPECT_EQ(s.restarts(id), 1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr(absl::StrCat("sleeper (pid ", first, " was killed by signal 9")));
  EXPECT_THAT(lines[1], HasSubstr("sleeper restarted (pid "));
  s.StopAll(absl::Seconds(5));
  EXPECT_FALSE(s.running(id));
}

TEST(SupervisorTest, ARunLongerThanStableAfterStartsTheCountAgain) {
  const std::string dir = testing::MakeTempDir();
  const std::string runs = dir + "/runs";
  Supervisor s({.max_restarts = 1,
                .initial_backoff = absl::Milliseconds(10),
                .stable_after = absl::Milliseconds(100)},
               "", [](std::string_view) {});
  ASSERT_OK_AND_ASSIGN(const int id,
                       s.Start({.name = "steady", .argv = Sh("echo >> " + runs + "; sleep 0.15")}));
  // One restart allowed in a row, but every run is "stable": it is never given up.
  PollUntil(s, [&] { return CountLines(runs) >= 4 || s.gave_up(id); });
  EXPECT_FALSE(s.gave_up(id));
  EXPECT_GE(s.restarts(id), 3);
  EXPECT_EQ(s.failures(id), 1);
}

TEST(SupervisorTest, ZeroMaxRestartsGivesUpAtTheFirstExit) {
  std::vector<std::string> lines;
  Supervisor s({.max_restarts = 0}, "", [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_OK_AND_ASSIGN(const int id, s.Start({.name = "once", .argv = Sh("exit 0")}));
  PollUntil(s, [&] { return s.gave_up(id); });
  EXPECT_TRUE(s.gave_up(id));
  EXPECT_EQ(s.restarts(id), 0);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("giving up on once (pid "));
  EXPECT_THAT(lines[0], HasSubstr("exited with code 0"));
  EXPECT_THAT(lines[0], HasSubstr("it failed 1 time in a row"));
}

TEST(SupervisorTest, RestartsUseTheNewCommandLine) {
  const std::string dir = testing::MakeTempDir();
  Supervisor s({.initial_backoff = absl::Milliseconds(10)}, "", [](std::string_view) {});
  ASSERT_OK_AND_ASSIGN(const int id,
                       s.Start({.name = "p", .argv = Sh("touch " + dir + "/first; exit 1")}));
  s.SetArgv(id, Sh("touch " + dir + "/second; exec sleep 30"));
  PollUntil(s, [&] { return std::ifstream(dir + "/second").good(); });
  EXPECT_TRUE(std::ifstream(dir + "/first").good());
  EXPECT_TRUE(std::ifstream(dir + "/second").good());
}

TEST(SupervisorTest, StopAllEndsEveryChildAndRestartsNothing) {
  Supervisor s({.initial_backoff = absl::Milliseconds(1)}, "", [](std::string_view) {});
  ASSERT_OK_AND_ASSIGN(const int polite, s.Start({.name = "polite", .argv = Sh("exec sleep 30")}));
  // Ignores SIGTERM (an ignored disposition survives exec): SIGKILL after the grace period.
  ASSERT_OK_AND_ASSIGN(const int stubborn,
                       s.Start({.name = "stubborn", .argv = Sh("trap '' TERM; exec sleep 30")}));
  absl::SleepFor(absl::Milliseconds(100));  // let the shell install its trap
  const absl::Time start = absl::Now();
  s.StopAll(absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE(s.running(polite));
  EXPECT_FALSE(s.running(stubborn));
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(s.Poll().empty());
  EXPECT_EQ(s.pid(polite), -1);
}

TEST(SupervisorTest, ABinaryThatCannotRunIsAnErrorNotARestart) {
  Supervisor s({}, "", [](std::string_view) {});
  EXPECT_THAT(s.Start({.name = "ghost", .argv = {"/nonexistent/tpserve-ghost"}}),
              testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("cannot execute /nonexistent/tpserve-ghost")));
  EXPECT_EQ(s.size(), 0);
}

}  // namespace
}  // namespace tpserve::cli
