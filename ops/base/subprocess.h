// Subprocess: a child process that this process started and owns. The one place in the project
// that forks: worker groups start their member ranks with it, `tpserve up` its coordinator and
// workers, the tests their binaries.
//
// A child dies with its parent by default (PR_SET_PDEATHSIG, and a check for a parent that died
// before the flag was set), so no rank outlives a killed leader. Output can stay inherited, go to
// /dev/null, be appended to a file, or come back through a pipe. Exec() reports a binary that
// cannot be executed as an error of its own (through a close-on-exec pipe), not as a child that
// exits 127 later.
//
// The destructor kills (SIGKILL) and reaps a child still running: a Subprocess never leaves a
// zombie or an orphan behind. Release() gives that duty up.
//
//   TPS_ASSIGN_OR_RETURN(Subprocess p, Subprocess::Exec({"/bin/true"}));
//   const int status = p.Wait();   // raw wait status; p.DescribeExit() == "exited with code 0"
//
// Not thread-safe: one owner thread.
#ifndef TPSERVE_OPS_BASE_SUBPROCESS_H_
#define TPSERVE_OPS_BASE_SUBPROCESS_H_

#include <sys/types.h>

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tpserve {

// Where one output stream of the child goes.
struct Redirect {
  enum class Kind { kInherit, kNull, kFile, kPipe };
  Kind kind = Kind::kInherit;
  std::string path;    // kFile
  bool append = true;  // kFile: append (true) or truncate

  static Redirect Inherit() { return {}; }
  static Redirect Null() { return {.kind = Kind::kNull}; }
  static Redirect File(std::string path, bool append = true) {
    return {.kind = Kind::kFile, .path = std::move(path), .append = append};
  }
  static Redirect Pipe() { return {.kind = Kind::kPipe}; }
};

struct SpawnOptions {
  // Sent to the child when this process (strictly: the spawning thread) ends; 0 = none.
  int parent_death_signal = SIGKILL;
  Redirect out;  // stdout
  Redirect err;  // stderr; a kFile with the same path as `out` shares its descriptor
};

// "exited with code 3", "was killed by signal 9" for a waitpid() status.
std::string DescribeWaitStatus(int status);

class Subprocess {
 public:
  // Runs argv[0] (a path; not searched in PATH) with `argv`.
  static absl::StatusOr<Subprocess> Exec(const std::vector<std::string>& argv,
                                         const SpawnOptions& options = {});
  // Runs `body` in a forked copy of this process and exits with its return value. Only for code
  // that is safe after fork() (tests whose child touches no thread of the parent).
  static absl::StatusOr<Subprocess> Fork(const std::function<int()>& body,
                                         const SpawnOptions& options = {});

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Read ends of Redirect::Pipe() streams (-1 otherwise); owned by this object.
  int stdout_fd() const { return out_fd_; }
  int stderr_fd() const { return err_fd_; }

  // Reaps the child if it has exited (never blocks); its wait status once it has.
  std::optional<int> Poll();
  bool Running() { return !Poll().has_value(); }
  // Blocks until the child exits; its wait status.
  int Wait();
  // Waits up to `timeout`; the wait status, or nullopt while still running.
  std::optional<int> WaitFor(absl::Duration timeout);
  // Sends `signal` to a child still running (no-op once reaped).
  void Signal(int signal);
  // SIGTERM, up to `grace` for it to exit, then SIGKILL; always reaps. The wait status.
  int Terminate(absl::Duration grace);
  // SIGKILL and reap. The wait status.
  int Kill();
  // Forgets the child: it is neither killed nor reaped by this object any more.
  void Release();

  // DescribeWaitStatus() of the reaped child; "is running" before.
  std::string DescribeExit() const;
  // Exit code, or 128 + signal for a killed child; nullopt while running.
  std::optional<int> exit_code() const;

 private:
  Subprocess() = default;
  void CloseFds();

  pid_t pid_ = -1;
  std::optional<int> status_;  // set once reaped
  int out_fd_ = -1;
  int err_fd_ = -1;
};

}  // namespace tpserve

#endif  // TPSERVE_OPS_BASE_SUBPROCESS_H_
