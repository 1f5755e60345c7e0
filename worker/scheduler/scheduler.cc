#include "worker/scheduler/scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "worker/scheduler/apply_step_result.h"
#include "worker/scheduler/build_step_plan.h"

namespace tpserve::worker {

Scheduler::Scheduler(const SchedulerOptions& options, WorkerMetrics* metrics)
    : options_(options), metrics_(metrics) {}

Scheduler::~Scheduler() {
  // Sequences still queued never reached a step thread: end them rather than drop them silently.
  Inbox inbox;
  {
    absl::MutexLock lock(&mu_);
    inbox = std::move(inbox_);
  }
  for (auto& seq : inbox.submitted)
    seq->sink->OnError(absl::UnavailableError("the worker stopped"));
}

absl::StatusOr<uint64_t> Scheduler::Submit(GenerateParams params,
                                           std::shared_ptr<SequenceSink> sink) {
  absl::MutexLock lock(&mu_);
  if (!accepting_) return reject_;
  if (absl::Status s = admit_->CheckFits(params); !s.ok()) return s;
  const uint64_t id = next_id_++;
  auto seq = std::make_unique<Sequence>(id, std::move(params), std::move(sink));
  seq->submitted = absl::Now();
  inbox_.submitted.push_back(std::move(seq));
  return id;
}

void Scheduler::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  inbox_.cancelled.push_back(id);
}

void Scheduler::SetRejectStatus(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (!draining_) reject_ = status;
}

void Scheduler::BeginDrain(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  accepting_ = false;
  reject_ = absl::UnavailableError("the worker is shutting down");
  drain_deadline_ = absl::Now() + grace;
}

SchedulerLoad Scheduler::load() const {
  absl::MutexLock lock(&mu_);
  SchedulerLoad l = load_;
  l.waiting += static_cast<int32_t>(inbox_.submitted.size());
  return l;
}

Scheduler::Inbox Scheduler::TakeInbox(BatchState& state) {
  Inbox inbox;
  {
    absl::MutexLock lock(&mu_);
    std::swap(inbox, inbox_);
  }
  for (auto& seq : inbox.submitted) state.Enqueue(std::move(seq));
  inbox.submitted.clear();
  return inbox;
}

bool Scheduler::WaitForWork(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto work = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !inbox_.submitted.empty() || !inbox_.cancelled.empty() || draining_;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&work), timeout);
}

void Scheduler::PublishLoad(const BatchState& state, const StepEngine& engine) {
  const MemoryUsage memory = engine.memory_usage();
  const int32_t running = static_cast<int32_t>(state.running().size());
  const int32_t waiting = static_cast<int32_t>(state.waiting().size());
  EngineLimits limits;
  {
    absl::MutexLock lock(&mu_);
    load_.running = running;
    load_.waiting = waiting;
    load_.memory = memory;
    limits = load_.limits;
  }
  if (metrics_ != nullptr) {
    metrics_->SetSequences(running, waiting);
    metrics_->SetMemory(memory.slots_in_use, limits.max_slots, memory.blocks_in_use,
                        limits.num_kv_blocks);
    metrics_->SetVision(engine.vision_usage());
  }
}

void Scheduler::FailAll(BatchState& state, const absl::Status& status) {
  Inbox inbox;
  {
    absl::MutexLock lock(&mu_);
    std::swap(inbox, inbox_);
  }
  std::vector<std::unique_ptr<Sequence>> all = state.Clear();
  for (auto& seq : inbox.submitted) all.push_back(std::move(seq));
  for (auto& seq : all) seq->sink->OnError(status);
}

absl::Status Scheduler::Finish(BatchState& state, StepEngine& engine, const absl::Status& why) {
  const absl::Status unavailable =
      absl::UnavailableError(absl::StrCat("the replica failed: ", why.message()));
  {
    absl::MutexLock lock(&mu_);
    accepting_ = false;
    if (!draining_) reject_ = unavailable;
  }
  FailAll(state, unavailable);
  PublishLoad(state, engine);
  return why;
}

absl::Status Scheduler::Serve(StepEngine& engine, const std::function<absl::Status()>& health) {
  const EngineLimits limits = engine.limits();
  const int64_t budget = std::min(options_.token_budget, limits.max_tokens_per_step);
  if (budget < limits.max_slots || limits.max_logit_rows < limits.max_slots) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the per-step token budget (", budget, ") and logits rows (", limits.max_logit_rows,
        ") must be at least the sequence slots (", limits.max_slots, ")"));
  }
  BatchState state(limits.max_slots);
  const AdmitRequests admit(limits);
  const BuildStepPlan build(budget);
  const ApplyStepResult apply;
  {
    absl::MutexLock lock(&mu_);
    admit_.emplace(limits);
    load_.limits = limits;
    load_.serving_once = true;
    if (!draining_) accepting_ = true;
  }
  PublishLoad(state, engine);
  double collective = engine.collective_seconds();

  for (;;) {
    const absl::Time now = absl::Now();
    Inbox inbox = TakeInbox(state);
    for (uint64_t id : inbox.cancelled) {
      if (std::unique_ptr<Sequence> seq = state.Remove(id)) {
        seq->sink->OnError(absl::CancelledError("the Generate call was cancelled"));
      }
    }
    if (health) {
      if (absl::Status s = health(); !s.ok()) return Finish(state, engine, s);
    }
    bool draining = false;
    absl::Time drain_deadline;
    {
      absl::MutexLock lock(&mu_);
      draining = draining_;
      drain_deadline = drain_deadline_;
    }
    if (draining && now > drain_deadline) {
      const absl::Status stop = absl::UnavailableError("the worker is shutting down");
      while (!state.running().empty()) state.Retire(0)->sink->OnError(stop);
      for (auto& seq : state.waiting()) seq->sink->OnError(stop);
      state.waiting().clear();
    }
    if (draining && state.empty() && !state.has_pending_release()) {
      PublishLoad(state, engine);
      return absl::OkStatus();
    }

    admit.Run(state, now);
    PlannedStep step = build.Run(state, next_step_id_);
    if (step.empty()) {
      PublishLoad(state, engine);
      WaitForWork(options_.idle_wait);
      continue;
    }
    ++next_step_id_;
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<absl::Span<const float>>> rows = engine.Run(step.plan);
    const absl::Time end = absl::Now();
    if (!rows.ok()) {
      return Finish(state, engine,
                    Annotate(rows.status(), absl::StrCat("step ", step.plan.step_id)));
    }
    const double seconds = absl::ToDoubleSeconds(end - start);
    const StepOutcome outcome = apply.Run(state, step, *rows, seconds, end);
    if (metrics_ != nullptr) {
      metrics_->ObserveStep(step.phase, seconds);
      metrics_->AddGeneratedTokens(outcome.generated_tokens);
      const double c = engine.collective_seconds();
      metrics_->AddCollectiveSeconds(c - collective);
      collective = c;
      metrics_->SetVision(engine.vision_usage());
    }
    PublishLoad(state, engine);
  }
}

}  // namespace tpserve::worker
