// Subprocess against real processes (/bin/sh, /bin/sleep): exit descriptions, output redirection,
// exec failures, kill-on-destruction, and the parent death signal.
#include "ops/base/subprocess.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

std::string ReadAll(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// True while `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

TEST(SubprocessTest, ReportsHowTheChildEnded) {
  ASSERT_OK_AND_ASSIGN(Subprocess ok, Subprocess::Exec({"/bin/sh", "-c", "exit 0"}));
  ok.Wait();
  EXPECT_EQ(ok.exit_code(), 0);
  EXPECT_EQ(ok.DescribeExit(), "exited with code 0");

  ASSERT_OK_AND_ASSIGN(Subprocess three, Subprocess::Exec({"/bin/sh", "-c", "exit 3"}));
  three.Wait();
  EXPECT_EQ(three.exit_code(), 3);
  EXPECT_EQ(three.DescribeExit(), "exited with code 3");

  ASSERT_OK_AND_ASSIGN(Subprocess sleeper, Subprocess::Exec({"/bin/sleep", "100"}));
  EXPECT_TRUE(sleeper.Running());
  EXPECT_EQ(sleeper.DescribeExit(), "is running");
  EXPECT_FALSE(sleeper.WaitFor(absl::Milliseconds(20)).has_value());
  const int status = sleeper.Kill();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(sleeper.exit_code(), 128 + SIGKILL);
  EXPECT_EQ(sleeper.DescribeExit(), "was killed by signal 9");
}

TEST(SubprocessTest, AMissingBinaryIsAnErrorNotAChild) {
  EXPECT_THAT(Subprocess::Exec({"/nonexistent/tpserve-nothing"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot execute /nonexistent/tpserve-nothing")));
  EXPECT_THAT(Subprocess::Exec({}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SubprocessTest, RedirectsOutputToPipesAndFiles) {
  ASSERT_OK_AND_ASSIGN(Subprocess p,
                       Subprocess::Exec({"/bin/sh", "-c", "echo out; echo err >&2"},
                                        {.out = Redirect::Pipe(), .err = Redirect::Pipe()}));
  EXPECT_EQ(ReadAll(p.stdout_fd()), "out\n");
  EXPECT_EQ(ReadAll(p.stderr_fd()), "err\n");
  p.Wait();

  const std::string log = testing::MakeTempDir() + "/log";
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(
        Subprocess f, Subprocess::Exec({"/bin/sh", "-c", "echo a; echo b >&2"},
                                       {.out = Redirect::File(log), .err = Redirect::File(log)}));
    f.Wait();
  }
  std::stringstream appended;
  appended << std::ifstream(log).rdbuf();
  EXPECT_EQ(appended.str(), "a\nb\na\nb\n");
  ASSERT_OK_AND_ASSIGN(
      Subprocess t, Subprocess::Exec({"/bin/sh", "-c", "echo c"},
                                     {.out = Redirect::File(log, false), .err = Redirect::Null()}));
  t.Wait();
  std::stringstream truncated;
  truncated << std::ifstream(log).rdbuf();
  EXPECT_EQ(truncated.str(), "c\n");
}

TEST(SubprocessTest, DestructionKillsAndReapsARunningChild) {
  pid_t pid = -1;
  {
    ASSERT_OK_AND_ASSIGN(Subprocess p, Subprocess::Exec({"/bin/sleep", "100"}));
    pid = p.pid();
    EXPECT_TRUE(Alive(pid));
    Subprocess moved = std::move(p);  // ownership moves; only `moved` kills
    EXPECT_EQ(moved.pid(), pid);
  }
  EXPECT_FALSE(Alive(pid));
  // Reaped: waitpid finds no such child.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
}

TEST(SubprocessTest, TerminateSendsSigtermFirst) {
  ASSERT_OK_AND_ASSIGN(Subprocess p,
                       Subprocess::Exec({"/bin/sh", "-c", "trap 'exit 7' TERM; sleep 100 & wait"}));
  absl::SleepFor(absl::Milliseconds(100));  // the trap is set
  p.Terminate(absl::Seconds(5));
  EXPECT_EQ(p.exit_code(), 7);
}

TEST(SubprocessTest, ForkRunsTheBodyAndExitsWithItsValue) {
  ASSERT_OK_AND_ASSIGN(Subprocess p, Subprocess::Fork([] { return 42; }));
  p.Wait();
  EXPECT_EQ(p.exit_code(), 42);
}

// A child dies with its parent: the middle process starts a sleeper and exits; the sleeper gets
// the parent death signal.
TEST(SubprocessTest, ChildrenDieWithTheirParent) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_OK_AND_ASSIGN(Subprocess middle, Subprocess::Fork([&] {
                         absl::StatusOr<Subprocess> s = Subprocess::Exec({"/bin/sleep", "100"});
                         if (!s.ok()) return 1;
                         const pid_t pid = s->pid();
                         (void)!write(fds[1], &pid, sizeof(pid));
                         s->Release();  // not killed by the destructor: by the death signal
                         return 0;
                       }));
  close(fds[1]);
  pid_t sleeper = -1;
  ASSERT_EQ(read(fds[0], &sleeper, sizeof(sleeper)), static_cast<ssize_t>(sizeof(sleeper)));
  close(fds[0]);
  middle.Wait();
  EXPECT_EQ(middle.exit_code(), 0);
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (Alive(sleeper) && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(Alive(sleeper)) << "pid " << sleeper << " outlived its parent";
}

}  // namespace
}  // namespace tpserve
