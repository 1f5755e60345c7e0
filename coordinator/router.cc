#include "coordinator/router.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ops/base/echo.h"

namespace tpserve::coordinator {

Router::Router(Options options, const Membership& membership, const Clock& clock,
               CoordinatorMetrics& metrics)
    : options_(options), membership_(membership), clock_(clock), metrics_(metrics) {}

int Router::Capacity(const GroupStatus& g) const {
  return g.load.max_sequences() > 0 ? g.load.max_sequences() : options_.default_group_capacity;
}

std::string Router::NoReplicaMessage(const std::string& model) const {
  std::string why;
  for (const GroupStatus& g : membership_.Groups()) {
    if (g.key.model != model) continue;
    absl::StrAppend(&why, why.empty() ? "" : "; ", "group ", g.key.group, " is ",
                    GroupStateName(g.state), g.detail.empty() ? "" : ": ", g.detail);
  }
  if (why.empty()) why = "no worker serves it";
  return absl::StrCat("no ready replica of model ", EchoValue(model), " (", why, ")");
}

void Router::ExpireLocked(const std::string& model, absl::Time now,
                          std::vector<Decision>* decisions) {
  auto q = queues_.find(model);
  if (q == queues_.end()) return;
  for (auto it = q->second.begin(); it != q->second.end();) {
    const Waiting& w = it->second;
    if (w.leave_by > now) {
      ++it;
      continue;
    }
    const double waited = absl::ToDoubleSeconds(now - w.enqueued);
    absl::Status why =
        w.request.deadline <= now
            ? absl::DeadlineExceededError(absl::StrFormat(
                  "the request's deadline passed after %.1f s waiting for a replica slot of model "
                  "%s",
                  waited, EchoValue(model)))
            : absl::ResourceExhaustedError(absl::StrFormat(
                  "waited %.1f s for a replica slot of model %s (the limit, --max-queue-wait-ms, "
                  "is %d ms): the model is overloaded; retry later",
                  waited, EchoValue(model), absl::ToInt64Milliseconds(options_.max_queue_wait)));
    const uint64_t ticket = std::get<1>(it->first);
    tickets_.erase(ticket);
    decisions->push_back({std::move(it->second.on_dispatch), std::move(why), ticket});
    it = q->second.erase(it);
  }
}

std::string Router::ShedReasonLocked(const std::string& model, const QueueKey& key, absl::Time now,
                                     const std::vector<GroupStatus>& ready) {
  auto t = stream_time_.find(model);
  if (t == stream_time_.end() || t->second.samples < options_.min_samples) return "";
  int slots = 0;
  for (const GroupStatus& g : ready) slots += Capacity(g);
  if (slots <= 0) return "";
  const auto& queue = queues_[model];
  const Waiting& w = queue.at(key);
  // Requests ahead: those before it in queue order (higher priority, or earlier).
  const auto ahead = static_cast<int>(std::distance(queue.begin(), queue.find(key)));
  const double expected = (ahead + 1) * t->second.mean_seconds / slots;
  const double may_wait = absl::ToDoubleSeconds(w.leave_by - now);
  if (expected <= may_wait) return "";
  return absl::StrFormat(
      "model %s is overloaded: the expected wait for a replica slot is %.1f s (%d requests ahead, "
      "%.1f s per stream over %d slots), more than the %.1f s this request may wait (%s); retry "
      "later",
      EchoValue(model), expected, ahead, t->second.mean_seconds, slots, may_wait,
      w.leave_by == w.request.deadline ? "its deadline" : "--max-queue-wait-ms");
}

std::optional<size_t> Router::PickLocked(const RouteRequest& request,
                                         const std::vector<GroupStatus>& ready, absl::Time now) {
  if (!request.session_id.empty()) {
    auto s = sessions_.find(request.session_id);
    if (s != sessions_.end() && now - s->second.last_used < options_.session_ttl &&
        s->second.group.model == request.model) {
      for (size_t i = 0; i < ready.size(); ++i) {
        if (ready[i].key != s->second.group) continue;
        // Affinity wins over balance while the group is ready: wait for a slot there.
        if (open_[ready[i].key] < Capacity(ready[i])) return i;
        return std::nullopt;
      }
    }
  }
  std::optional<size_t> best;
  double best_load = 0;
  int best_open = 0;
  for (size_t i = 0; i < ready.size(); ++i) {
    const int cap = Capacity(ready[i]);
    const int open = open_[ready[i].key];
    if (open >= cap) continue;
    const int reported = ready[i].load.running_sequences() + ready[i].load.waiting_sequences();
    const double load = static_cast<double>(std::max(reported, open)) / cap;
    if (!best.has_value() || load < best_load || (load == best_load && open < best_open)) {
      best = i;
      best_load = load;
      best_open = open;
    }
  }
  return best;
}

void Router::PumpModelLocked(const std::string& model, std::vector<Decision>* decisions) {
  auto q = queues_.find(model);
  if (q == queues_.end() || q->second.empty()) return;
  const absl::Time now = clock_.Now();
  const std::vector<GroupStatus> ready = membership_.ReadyGroups(model);
  if (ready.empty()) {
    const absl::Time since = unready_since_.emplace(model, now).first->second;
    if (now - since < options_.unready_grace) return;
    const std::string message = NoReplicaMessage(model);
    for (auto& [key, w] : q->second) {
      tickets_.erase(std::get<1>(key));
      decisions->push_back(
          {std::move(w.on_dispatch), absl::UnavailableError(message), std::get<1>(key)});
    }
    q->second.clear();
    return;
  }
  unready_since_.erase(model);
  for (auto it = q->second.begin(); it != q->second.end();) {
    const std::optional<size_t> pick = PickLocked(it->second.request, ready, now);
    if (!pick.has_value()) {
      ++it;
      continue;
    }
    const GroupStatus& g = ready[*pick];
    ++open_[g.key];
    if (!it->second.request.session_id.empty()) {
      sessions_[it->second.request.session_id] = Session{g.key, now};
    }
    const uint64_t ticket = std::get<1>(it->first);
    tickets_.erase(ticket);
    decisions->push_back(
        {std::move(it->second.on_dispatch), RouteTarget{g.key, g.leader_address, now}, ticket});
    it = q->second.erase(it);
  }
}

void Router::UpdateGaugesLocked(const std::string& model) {
  int running = 0;
  for (auto it = open_.lower_bound(GroupKey{model, ""});
       it != open_.end() && it->first.model == model; ++it) {
    running += it->second;
  }
  auto q = queues_.find(model);
  metrics_.SetRunning(model, running);
  metrics_.SetWaiting(model, q == queues_.end() ? 0 : static_cast<int>(q->second.size()));
}

absl::StatusOr<Router::Submitted> Router::Submit(const RouteRequest& request,
                                                 DispatchCallback on_dispatch) {
  std::vector<Decision> decisions;
  absl::StatusOr<Submitted> result;
  {
    absl::MutexLock lock(&mu_);
    if (membership_.ReadyGroups(request.model).empty()) {
      return absl::UnavailableError(NoReplicaMessage(request.model));
    }
    const uint64_t ticket = next_ticket_++;
    const QueueKey key{-request.priority, ticket};
    auto& queue = queues_[request.model];
    const absl::Time now = clock_.Now();
    const absl::Time leave_by = options_.max_queue_wait == absl::InfiniteDuration()
                                    ? request.deadline
                                    : std::min(request.deadline, now + options_.max_queue_wait);
    queue.emplace(key, Waiting{request, std::move(on_dispatch), now, leave_by});
    tickets_[ticket] = {request.model, key};
    PumpModelLocked(request.model, &decisions);
    auto own = std::find_if(decisions.begin(), decisions.end(),
                            [&](const Decision& d) { return d.ticket == ticket; });
    if (own != decisions.end()) {
      if (own->result.ok()) {
        result = Submitted{*own->result, 0};
      } else {
        result = own->result.status();
      }
      decisions.erase(own);
    } else if (static_cast<int>(queue.size()) > options_.max_queue) {
      queue.erase(key);
      tickets_.erase(ticket);
      result = absl::ResourceExhaustedError(absl::StrCat(
          "model ", EchoValue(request.model), ": ", options_.max_queue,
          " requests are already waiting for a replica slot (the limit, --max-queue, is ",
          options_.max_queue, "); retry later"));
    } else if (std::string shed = ShedReasonLocked(request.model, key, now,
                                                   membership_.ReadyGroups(request.model));
               !shed.empty()) {
      queue.erase(key);
      tickets_.erase(ticket);
      result = absl::ResourceExhaustedError(shed);
    } else {
      result = Submitted{std::nullopt, ticket};
    }
    UpdateGaugesLocked(request.model);
  }
  for (Decision& d : decisions) d.callback(std::move(d.result));
  return result;
}

bool Router::Cancel(uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  auto t = tickets_.find(ticket);
  if (t == tickets_.end()) return false;
  const std::string model = t->second.first;
  queues_[model].erase(t->second.second);
  tickets_.erase(t);
  UpdateGaugesLocked(model);
  return true;
}

void Router::Release(const RouteTarget& target) {
  std::vector<Decision> decisions;
  {
    absl::MutexLock lock(&mu_);
    auto it = open_.find(target.group);
    if (it != open_.end() && --it->second <= 0) open_.erase(it);
    if (target.dispatched != absl::InfinitePast()) {
      // An exponential average (weight 1/8 for the newest): recent enough to follow a change of
      // load, smooth enough that one long stream does not swing it.
      StreamTime& t = stream_time_[target.group.model];
      const double d = absl::ToDoubleSeconds(clock_.Now() - target.dispatched);
      t.mean_seconds = t.samples == 0 ? d : t.mean_seconds + (d - t.mean_seconds) / 8;
      ++t.samples;
    }
    PumpModelLocked(target.group.model, &decisions);
    UpdateGaugesLocked(target.group.model);
  }
  for (Decision& d : decisions) d.callback(std::move(d.result));
}

void Router::Pump() {
  std::vector<Decision> decisions;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      it = now - it->second.last_used >= options_.session_ttl ? sessions_.erase(it) : std::next(it);
    }
    for (auto& [model, queue] : queues_) {
      ExpireLocked(model, now, &decisions);
      PumpModelLocked(model, &decisions);
      UpdateGaugesLocked(model);
    }
  }
  for (Decision& d : decisions) d.callback(std::move(d.result));
}

int Router::running(const std::string& model) const {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [key, open] : open_) {
    if (key.model == model) n += open;
  }
  return n;
}

int Router::waiting(const std::string& model) const {
  absl::MutexLock lock(&mu_);
  auto q = queues_.find(model);
  return q == queues_.end() ? 0 : static_cast<int>(q->second.size());
}

}  // namespace tpserve::coordinator
