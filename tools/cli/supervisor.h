// Supervisor: keeps the processes `tpserve up` starts running. Each process is started through
// Subprocess (ops/base/subprocess.h); when one exits without being asked to, the supervisor says
// so (which process, how it died, after how long) and starts it again after a backoff that
// doubles with every failed run in a row (RestartPolicy: 0.5 s, 1 s, 2 s, ... capped at 10 s).
// A run that lasted `stable_after` or longer is not part of a streak: the count starts again.
// After `max_restarts` restarts in a row the next exit gives the process up, with a message
// naming it, its last exit and how many times it failed; the owner decides what that means
// (tpserve up: a dead coordinator, or no replica left with all its ranks, ends the cluster).
//
// Nothing blocks but StopAll(): the owner calls Poll() from its loop (every 50 ms in tpserve up),
// which reaps, reports, restarts those whose backoff has passed and returns what happened.
//
//   Supervisor s({.max_restarts = 5});
//   TPS_ASSIGN_OR_RETURN(const int coordinator, s.Start({.name = "coordinator", .argv = ...}));
//   while (!stop) {
//     for (const Supervisor::Event& e : s.Poll()) { if (e.kind == kGaveUp) ... }
//     absl::SleepFor(absl::Milliseconds(50));
//   }
//   s.StopAll(absl::Seconds(10));
//
// Not thread-safe: one owner thread, which is also the thread the children's parent-death
// signal is tied to (PR_SET_PDEATHSIG fires when the spawning thread ends).
#ifndef TPSERVE_TOOLS_CLI_SUPERVISOR_H_
#define TPSERVE_TOOLS_CLI_SUPERVISOR_H_

#include <sys/types.h>

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/subprocess.h"

namespace tpserve::cli {

struct RestartPolicy {
  // Restarts in a row (runs shorter than stable_after); the exit after the last one gives up.
  // 0: a process that exits is given up at once.
  int max_restarts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(500);  // before the first restart
  absl::Duration max_backoff = absl::Seconds(10);            // the doubling stops here
  absl::Duration stable_after = absl::Seconds(30);           // such a run resets the streak
};

// The wait before the restart that follows the `failures`-th failed run in a row (1-based):
// initial_backoff * 2^(failures - 1), at most max(max_backoff, initial_backoff).
absl::Duration RestartDelay(const RestartPolicy& policy, int failures);

struct ProcessSpec {
  std::string name;               // in every message: "coordinator", "worker g0 rank 1"
  std::vector<std::string> argv;  // argv[0] is a path (Subprocess::Exec)
  std::string log_path;           // stdout and stderr; truncated at the first start, then appended
  int parent_death_signal = SIGTERM;  // what the child gets if the supervisor's thread dies
};

class Supervisor {
 public:
  struct Event {
    enum class Kind { kExited, kRestarted, kGaveUp };
    Kind kind;
    int id;
    std::string message;  // the line also given to the log sink
  };
  // Gets every line the supervisor reports (without a trailing newline).
  using LogSink = std::function<void(std::string_view line)>;

  // `prefix` starts every line ("tpserve up: "); the default sink writes to stderr.
  explicit Supervisor(RestartPolicy policy, std::string prefix = "", LogSink sink = nullptr);
  ~Supervisor();  // StopAll(grace 10 s) when the owner did not
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts a process; its id (0, 1, ...). An error only when it cannot be executed at all (no
  // such binary): that is never retried.
  absl::StatusOr<int> Start(ProcessSpec spec);
  // The command line of the restarts to come (the coordinator: the ports its first run got).
  void SetArgv(int id, std::vector<std::string> argv);

  // Reaps, reports, restarts what is due. Never blocks (a restart is one fork + exec).
  std::vector<Event> Poll();

  // SIGTERM to every running process, up to `grace` for all of them, then SIGKILL; all reaped,
  // none restarted afterwards.
  void StopAll(absl::Duration grace);

  int size() const { return static_cast<int>(processes_.size()); }
  const std::string& name(int id) const { return processes_[id].spec.name; }
  bool running(int id) const { return processes_[id].process.has_value(); }
  bool gave_up(int id) const { return processes_[id].gave_up; }
  // pid of the current run; -1 between runs.
  pid_t pid(int id) const;
  int restarts(int id) const { return processes_[id].restarts; }  // all restarts so far
  int failures(int id) const { return processes_[id].failures; }  // the current streak

 private:
  struct Process {
    ProcessSpec spec;
    std::optional<Subprocess> process;  // set while a run is in progress
    absl::Time started;
    absl::Time restart_at;  // when not running and not given up
    int failures = 0;
    int restarts = 0;
    bool gave_up = false;
  };

  absl::StatusOr<Subprocess> Spawn(const ProcessSpec& spec, bool first);
  // A run of `p` ended (or a restart could not exec): count it, give up or schedule a restart.
  void Failed(int id, const std::string& how, absl::Duration ran, std::vector<Event>& events);
  void Report(std::vector<Event>& events, Event::Kind kind, int id, std::string message);

  const RestartPolicy policy_;
  const std::string prefix_;
  LogSink sink_;
  std::vector<Process> processes_;
  bool stopped_ = false;
};

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_SUPERVISOR_H_
