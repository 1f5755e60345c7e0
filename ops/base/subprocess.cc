#include "ops/base/subprocess.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tpserve {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// The descriptors a child's stdout and stderr are set up from, opened in the parent (close-on-exec,
// so only the dup2'ed copies reach the child's program).
struct ChildFds {
  int out = -1;       // becomes fd 1 (-1: inherit)
  int err = -1;       // becomes fd 2 (-1: inherit)
  int out_read = -1;  // parent's end of an stdout pipe
  int err_read = -1;  // parent's end of an stderr pipe
  bool err_is_out = false;

  ~ChildFds() {
    CloseFd(out);
    if (!err_is_out) CloseFd(err);
    CloseFd(out_read);
    CloseFd(err_read);
  }
};

absl::Status Open(const Redirect& r, int& child_fd, int& read_fd) {
  switch (r.kind) {
    case Redirect::Kind::kInherit:
      return absl::OkStatus();
    case Redirect::Kind::kNull:
      child_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
      break;
    case Redirect::Kind::kFile:
      child_fd = open(r.path.c_str(),
                      O_WRONLY | O_CREAT | O_CLOEXEC | (r.append ? O_APPEND : O_TRUNC), 0644);
      break;
    case Redirect::Kind::kPipe: {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) {
        return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
      }
      read_fd = fds[0];
      child_fd = fds[1];
      return absl::OkStatus();
    }
  }
  if (child_fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open '", r.path.empty() ? "/dev/null" : r.path,
                                            "' for a child's output: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status OpenAll(const SpawnOptions& o, ChildFds& fds) {
  if (absl::Status s = Open(o.out, fds.out, fds.out_read); !s.ok()) return s;
  if (o.err.kind == Redirect::Kind::kFile && o.out.kind == Redirect::Kind::kFile &&
      o.err.path == o.out.path) {
    fds.err = fds.out;
    fds.err_is_out = true;
    return absl::OkStatus();
  }
  return Open(o.err, fds.err, fds.err_read);
}

// In the child, before exec or the body: async-signal-safe calls only.
void SetUpChild(const SpawnOptions& o, const ChildFds& fds, pid_t parent) {
  if (o.parent_death_signal != 0) {
    prctl(PR_SET_PDEATHSIG, o.parent_death_signal);
    if (getppid() != parent) _exit(1);  // the parent died before the flag was set
  }
  if (fds.out >= 0) dup2(fds.out, 1);
  if (fds.err >= 0) dup2(fds.err, 2);
}

}  // namespace

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("was killed by signal ", WTERMSIG(status));
  return "stopped";
}

absl::StatusOr<Subprocess> Subprocess::Exec(const std::vector<std::string>& argv,
                                            const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("Subprocess::Exec: argv is empty");
  ChildFds fds;
  if (absl::Status s = OpenAll(options, fds); !s.ok()) return s;
  // exec failures come back as an errno through this pipe; a successful exec closes it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (std::string& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(report[0]);
    close(report[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    SetUpChild(options, fds, parent);
    execv(args[0], args.data());
    const int e = errno;
    (void)!write(report[1], &e, sizeof(e));
    _exit(127);
  }
  close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  Subprocess p;
  p.pid_ = pid;
  std::swap(p.out_fd_, fds.out_read);
  std::swap(p.err_fd_, fds.err_read);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    p.Wait();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot execute ", argv[0], ": ", std::strerror(child_errno)));
  }
  return p;
}

absl::StatusOr<Subprocess> Subprocess::Fork(const std::function<int()>& body,
                                            const SpawnOptions& options) {
  ChildFds fds;
  if (absl::Status s = OpenAll(options, fds); !s.ok()) return s;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    SetUpChild(options, fds, parent);
    _exit(body());
  }
  Subprocess p;
  p.pid_ = pid;
  std::swap(p.out_fd_, fds.out_read);
  std::swap(p.err_fd_, fds.err_read);
  return p;
}

Subprocess::Subprocess(Subprocess&& other) noexcept { *this = std::move(other); }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this == &other) return *this;
  if (pid_ > 0 && !status_.has_value()) Kill();
  CloseFds();
  pid_ = std::exchange(other.pid_, -1);
  status_ = std::exchange(other.status_, std::nullopt);
  out_fd_ = std::exchange(other.out_fd_, -1);
  err_fd_ = std::exchange(other.err_fd_, -1);
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !status_.has_value()) Kill();
  CloseFds();
}

void Subprocess::CloseFds() {
  CloseFd(out_fd_);
  CloseFd(err_fd_);
}

std::optional<int> Subprocess::Poll() {
  if (status_.has_value() || pid_ <= 0) return status_;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) status_ = status;
  return status_;
}

int Subprocess::Wait() {
  if (status_.has_value() || pid_ <= 0) return status_.value_or(0);
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  status_ = status;
  return status;
}

std::optional<int> Subprocess::WaitFor(absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  for (;;) {
    if (std::optional<int> s = Poll(); s.has_value()) return s;
    if (absl::Now() >= until) return std::nullopt;
    absl::SleepFor(std::min(absl::Milliseconds(5), until - absl::Now()));
  }
}

void Subprocess::Signal(int signal) {
  if (pid_ > 0 && !Poll().has_value()) kill(pid_, signal);
}

int Subprocess::Terminate(absl::Duration grace) {
  Signal(SIGTERM);
  if (std::optional<int> s = WaitFor(grace); s.has_value()) return *s;
  return Kill();
}

int Subprocess::Kill() {
  Signal(SIGKILL);
  return Wait();
}

void Subprocess::Release() {
  pid_ = -1;
  status_.reset();
}

std::string Subprocess::DescribeExit() const {
  return status_.has_value() ? DescribeWaitStatus(*status_) : "is running";
}

std::optional<int> Subprocess::exit_code() const {
  if (!status_.has_value()) return std::nullopt;
  if (WIFEXITED(*status_)) return WEXITSTATUS(*status_);
  if (WIFSIGNALED(*status_)) return 128 + WTERMSIG(*status_);
  return std::nullopt;
}

}  // namespace tpserve
