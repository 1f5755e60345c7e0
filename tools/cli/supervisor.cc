#include "tools/cli/supervisor.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace tpserve::cli {
namespace {

// "0.2 s", "12.3 s".
std::string Seconds(absl::Duration d) {
  return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(d));
}

}  // namespace

absl::Duration RestartDelay(const RestartPolicy& policy, int failures) {
  const absl::Duration cap = std::max(policy.max_backoff, policy.initial_backoff);
  absl::Duration d = policy.initial_backoff;
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

Supervisor::Supervisor(RestartPolicy policy, std::string prefix, LogSink sink)
    : policy_(policy), prefix_(std::move(prefix)), sink_(std::move(sink)) {
  if (!sink_) {
    sink_ = [](std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
      std::fflush(stderr);
    };
  }
}

Supervisor::~Supervisor() {
  if (!stopped_) StopAll(absl::Seconds(10));
}

pid_t Supervisor::pid(int id) const {
  const Process& p = processes_[id];
  return p.process.has_value() ? p.process->pid() : -1;
}

absl::StatusOr<Subprocess> Supervisor::Spawn(const ProcessSpec& spec, bool first) {
  SpawnOptions o;
  o.parent_death_signal = spec.parent_death_signal;
  if (!spec.log_path.empty()) {
    // A restart appends: the log of the run that died stays readable above it.
    o.out = Redirect::File(spec.log_path, /*append=*/!first);
    o.err = o.out;
  }
  return Subprocess::Exec(spec.argv, o);
}

absl::StatusOr<int> Supervisor::Start(ProcessSpec spec) {
  absl::StatusOr<Subprocess> p = Spawn(spec, /*first=*/true);
  if (!p.ok()) return p.status();
  Process process;
  process.spec = std::move(spec);
  process.process = *std::move(p);
  process.started = absl::Now();
  processes_.push_back(std::move(process));
  return static_cast<int>(processes_.size()) - 1;
}

void Supervisor::SetArgv(int id, std::vector<std::string> argv) {
  processes_[id].spec.argv = std::move(argv);
}

void Supervisor::Report(std::vector<Event>& events, Event::Kind kind, int id, std::string message) {
  sink_(absl::StrCat(prefix_, message));
  events.push_back({kind, id, std::move(message)});
}

void Supervisor::Failed(int id, const std::string& how, absl::Duration ran,
                        std::vector<Event>& events) {
  Process& p = processes_[id];
  if (ran >= policy_.stable_after) p.failures = 0;
  ++p.failures;
  const std::string log = p.spec.log_path.empty() ? "" : absl::StrCat("; see ", p.spec.log_path);
  if (p.failures > policy_.max_restarts) {
    p.gave_up = true;
    Report(events, Event::Kind::kGaveUp, id,
           absl::StrCat("giving up on ", p.spec.name, " (", how, "): it failed ", p.failures,
                        p.failures == 1 ? " time" : " times", " in a row, restarted ", p.restarts,
                        " time(s) in all, at most ", policy_.max_restarts, " restart(s) in a row",
                        log));
    return;
  }
  const absl::Duration delay = RestartDelay(policy_, p.failures);
  p.restart_at = absl::Now() + delay;
  Report(events, Event::Kind::kExited, id,
         absl::StrCat(p.spec.name, " (", how, "): restarting in ", Seconds(delay), " (failure ",
                      p.failures, " in a row; given up at ", policy_.max_restarts + 1, ")", log));
}

std::vector<Supervisor::Event> Supervisor::Poll() {
  std::vector<Event> events;
  if (stopped_) return events;
  for (int id = 0; id < size(); ++id) {
    Process& p = processes_[id];
    if (p.gave_up) continue;
    if (p.process.has_value()) {
      if (p.process->Running()) continue;
      const absl::Duration ran = absl::Now() - p.started;
      const std::string how = absl::StrCat("pid ", p.process->pid(), " ", p.process->DescribeExit(),
                                           " after ", Seconds(ran));
      p.process.reset();
      Failed(id, how, ran, events);
      continue;
    }
    if (absl::Now() < p.restart_at) continue;
    ++p.restarts;
    p.started = absl::Now();
    absl::StatusOr<Subprocess> s = Spawn(p.spec, /*first=*/false);
    if (!s.ok()) {
      Failed(id, absl::StrCat("restart failed: ", s.status().message()), absl::ZeroDuration(),
             events);
      continue;
    }
    p.process = *std::move(s);
    Report(events, Event::Kind::kRestarted, id,
           absl::StrCat(p.spec.name, " restarted (pid ", p.process->pid(), "; restart ", p.failures,
                        " in a row, ", p.restarts, " in all)"));
  }
  return events;
}

void Supervisor::StopAll(absl::Duration grace) {
  stopped_ = true;
  for (Process& p : processes_) {
    if (p.process.has_value()) p.process->Signal(SIGTERM);
  }
  const absl::Time until = absl::Now() + grace;
  for (Process& p : processes_) {
    if (!p.process.has_value()) continue;
    if (!p.process->WaitFor(std::max(absl::ZeroDuration(), until - absl::Now())).has_value()) {
      p.process->Kill();
    }
    p.process.reset();
  }
}

}  // namespace tpserve::cli
