#include "coordinator/membership.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/parallel_layout.h"

namespace tpserve::coordinator {

namespace cpb = ::tpserve::cluster::v1;

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kReady:
      return "ready";
    case GroupState::kLoading:
      return "loading";
    case GroupState::kIncomplete:
      return "incomplete";
    case GroupState::kFailed:
      return "failed";
    case GroupState::kDraining:
      return "draining";
  }
  return "unknown";
}

Membership::Membership(absl::Duration heartbeat_interval, const Clock& clock)
    : heartbeat_interval_(heartbeat_interval), clock_(clock) {}

GroupKey Membership::KeyOf(const Worker& w) const {
  return {w.registration.assignment.model(), w.registration.assignment.group()};
}

bool Membership::LiveLocked(const Worker& w, absl::Time now) const {
  // Out of routing as soon as two heartbeat periods pass without a heartbeat.
  return now - w.last_seen < lease();
}

void Membership::EraseWorkerLocked(const std::string& worker_id) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  const GroupKey key = KeyOf(it->second);
  auto g = ranks_.find(key);
  if (g != ranks_.end()) {
    auto r = g->second.find(it->second.registration.assignment.rank());
    if (r != g->second.end() && r->second == worker_id) g->second.erase(r);
    if (g->second.empty()) {
      ranks_.erase(g);
      failed_marks_.erase(key);
    }
  }
  workers_.erase(it);
}

absl::Status Membership::Register(const WorkerRegistration& reg) {
  const cpb::Assignment& a = reg.assignment;
  if (reg.worker_id.empty()) return absl::InvalidArgumentError("worker_id: required");
  if (a.model().empty() || a.group().empty()) {
    return absl::InvalidArgumentError("assignment: model and group are required");
  }
  // The workers' own bound on a group (header-only: no shard code is linked).
  if (absl::Status s =
          model::ParallelLayout{.tp_size = a.world_size(), .tp_rank = a.rank()}.Validate();
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("assignment: ", s.message()));
  }
  const absl::Time now = clock_.Now();
  const GroupKey key{a.model(), a.group()};
  absl::MutexLock lock(&mu_);
  if (auto g = ranks_.find(key); g != ranks_.end()) {
    if (auto r = g->second.find(a.rank()); r != g->second.end() && r->second != reg.worker_id) {
      const Worker& holder = workers_.at(r->second);
      if (LiveLocked(holder, now)) {
        // Aborted, not FailedPrecondition: the usual holder is the dead run of a restarted
        // worker, and the registering worker retries until that lease lapses.
        return absl::AbortedError(absl::StrCat("rank ", a.rank(), " of group ", key.ToString(),
                                               " is already held by worker ", r->second, " (",
                                               holder.registration.address,
                                               ") whose lease is live; retry once it lapses"));
      }
      EraseWorkerLocked(std::string(r->second));
    }
  }
  if (auto g = ranks_.find(key); g != ranks_.end()) {
    for (const auto& [rank, id] : g->second) {
      const Worker& other = workers_.at(id);
      if (id != reg.worker_id && LiveLocked(other, now) &&
          other.registration.assignment.world_size() != a.world_size()) {
        return absl::FailedPreconditionError(
            absl::StrCat("group ", key.ToString(), " has world size ",
                         other.registration.assignment.world_size(), " (worker ", id, ", rank ",
                         rank, "); this worker says ", a.world_size()));
      }
    }
  }
  EraseWorkerLocked(reg.worker_id);
  Worker w;
  w.registration = reg;
  w.last_seen = now;
  workers_[reg.worker_id] = std::move(w);
  ranks_[key][a.rank()] = reg.worker_id;
  if (a.rank() == 0) failed_marks_.erase(key);
  return absl::OkStatus();
}

bool Membership::Heartbeat(const std::string& worker_id, cpb::WorkerState state,
                           const std::string& detail, const cpb::ReplicaLoad& load) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return false;
  Worker& w = it->second;
  if (!LiveLocked(w, now)) {
    EraseWorkerLocked(worker_id);
    return false;
  }
  w.last_seen = now;
  w.state = state;
  w.detail = detail;
  w.load = load;
  if (w.registration.assignment.rank() == 0 && state == cpb::WORKER_STATE_READY) {
    failed_marks_.erase(KeyOf(w));
  }
  return true;
}

void Membership::MarkGroupFailed(const GroupKey& key, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (ranks_.count(key) != 0) failed_marks_[key] = reason;
}

int Membership::SweepExpired() {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  std::vector<std::string> expired;
  for (const auto& [id, w] : workers_) {
    if (!LiveLocked(w, now)) expired.push_back(id);
  }
  for (const std::string& id : expired) EraseWorkerLocked(id);
  return static_cast<int>(expired.size());
}

GroupStatus Membership::StatusLocked(const GroupKey& key, const std::map<int, std::string>& ranks,
                                     absl::Time now) const {
  GroupStatus s;
  s.key = key;
  std::vector<std::string> failed;
  for (const auto& [rank, id] : ranks) {
    const Worker& w = workers_.at(id);
    s.world_size = std::max(s.world_size, w.registration.assignment.world_size());
    if (s.model_dir.empty()) s.model_dir = w.registration.assignment.model_dir();
    if (!LiveLocked(w, now)) continue;
    ++s.live_ranks;
    if (w.state == cpb::WORKER_STATE_FAILED) {
      failed.push_back(absl::StrCat("rank ", rank, ": ", w.detail.empty() ? "failed" : w.detail));
    }
    if (rank == 0) {
      s.leader_worker_id = id;
      s.leader_address = w.registration.address;
      s.load = w.load;
    }
  }
  if (auto mark = failed_marks_.find(key); mark != failed_marks_.end()) {
    s.state = GroupState::kFailed;
    s.detail = mark->second;
  } else if (!failed.empty()) {
    s.state = GroupState::kFailed;
    s.detail = absl::StrJoin(failed, "; ");
  } else if (s.live_ranks < s.world_size) {
    std::vector<int> missing;
    for (int r = 0; r < s.world_size; ++r) {
      auto it = ranks.find(r);
      if (it == ranks.end() || !LiveLocked(workers_.at(it->second), now)) missing.push_back(r);
    }
    s.state = GroupState::kIncomplete;
    s.detail = absl::StrCat("no live worker for rank ", absl::StrJoin(missing, ", "));
  } else if (const Worker& leader = workers_.at(ranks.at(0));
             leader.state == cpb::WORKER_STATE_DRAINING) {
    s.state = GroupState::kDraining;
    s.detail = leader.detail.empty() ? "the leader is draining" : leader.detail;
  } else if (leader.state != cpb::WORKER_STATE_READY) {
    s.state = GroupState::kLoading;
    s.detail = leader.detail.empty() ? "the leader is not ready yet" : leader.detail;
  } else {
    s.state = GroupState::kReady;
  }
  return s;
}

std::vector<GroupStatus> Membership::Groups() const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  std::vector<GroupStatus> out;
  for (const auto& [key, ranks] : ranks_) out.push_back(StatusLocked(key, ranks, now));
  return out;
}

std::vector<GroupStatus> Membership::ReadyGroups(const std::string& model) const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  std::vector<GroupStatus> out;
  for (auto it = ranks_.lower_bound(GroupKey{model, ""});
       it != ranks_.end() && it->first.model == model; ++it) {
    GroupStatus s = StatusLocked(it->first, it->second, now);
    if (s.ready()) out.push_back(std::move(s));
  }
  return out;
}

std::optional<GroupStatus> Membership::Group(const GroupKey& key) const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = ranks_.find(key);
  if (it == ranks_.end()) return std::nullopt;
  return StatusLocked(it->first, it->second, now);
}

int32_t Membership::MinReportedContext(const std::string& model) const {
  int32_t best = 0;
  for (const GroupStatus& g : ReadyGroups(model)) {
    const int32_t c = g.load.max_context();
    if (c > 0 && (best == 0 || c < best)) best = c;
  }
  return best;
}

std::map<std::string, int> Membership::WorkerStateCounts() const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  std::map<std::string, int> counts = {
      {"loading", 0}, {"ready", 0}, {"failed", 0}, {"draining", 0}, {"unspecified", 0}};
  for (const auto& [id, w] : workers_) {
    if (!LiveLocked(w, now)) continue;
    switch (w.state) {
      case cpb::WORKER_STATE_LOADING:
        ++counts["loading"];
        break;
      case cpb::WORKER_STATE_READY:
        ++counts["ready"];
        break;
      case cpb::WORKER_STATE_FAILED:
        ++counts["failed"];
        break;
      case cpb::WORKER_STATE_DRAINING:
        ++counts["draining"];
        break;
      default:
        ++counts["unspecified"];
        break;
    }
  }
  return counts;
}

bool Membership::IsLive(const std::string& worker_id) const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = workers_.find(worker_id);
  return it != workers_.end() && LiveLocked(it->second, now);
}

}  // namespace tpserve::coordinator
