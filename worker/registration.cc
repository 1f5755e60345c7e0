#include "worker/registration.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ops/base/log.h"
#include "proto/grpc_status.h"

namespace tpserve::worker {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kAborted || code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown;
}

}  // namespace

std::string MakeWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "host");
  std::random_device rd;
  return absl::StrFormat("%s-%d-%08x", host, static_cast<int>(getpid()), rd());
}

Registration::Registration(std::shared_ptr<grpc::Channel> channel, RegistrationOptions options)
    : stub_(cluster::v1::Coordinator::NewStub(std::move(channel))),
      options_(std::move(options)),
      assignment_(options_.assignment) {}

Registration::~Registration() { Stop(); }

absl::Status Registration::RegisterOnce() {
  cluster::v1::RegisterRequest request;
  request.set_protocol_version(cluster::v1::CLUSTER_PROTOCOL_VERSION);
  request.set_join_token(options_.join_token);
  request.set_worker_id(options_.worker_id);
  request.set_address(options_.address);
  request.set_metrics_address(options_.metrics_address);
  *request.mutable_device() = options_.device;
  {
    absl::MutexLock lock(&mu_);
    *request.mutable_assignment() = assignment_;
  }
  grpc::ClientContext context;
  context.set_deadline(Deadline(options_.call_timeout));
  cluster::v1::RegisterResponse response;
  const grpc::Status s = stub_->Register(&context, request, &response);
  if (!s.ok()) return FromGrpcStatus(s, "Register");
  absl::MutexLock lock(&mu_);
  // The explicit assignment stays; a placed worker keeps the coordinator's answer from now on.
  if (assignment_.model().empty() || !response.assignment().model().empty()) {
    assignment_ = response.assignment();
  }
  interval_ = response.heartbeat_interval_ms() > 0
                  ? absl::Milliseconds(response.heartbeat_interval_ms())
                  : absl::Seconds(1);
  ++registrations_;
  return absl::OkStatus();
}

absl::StatusOr<cluster::v1::Assignment> Registration::Register(
    absl::Duration timeout, const std::function<bool()>& cancelled) {
  const absl::Time give_up = absl::Now() + timeout;
  absl::Duration backoff = absl::Milliseconds(50);
  bool logged = false;
  for (;;) {
    absl::Status s = RegisterOnce();
    if (s.ok()) {
      SetLink(Link::kOk, s);
      return assignment();
    }
    if (!Retryable(s.code())) return s;
    if (!logged) {
      TPS_LOG(kWarning) << "cannot register yet (" << s.message() << "); retrying";
      logged = true;
    }
    if (absl::Now() + backoff > give_up) {
      return absl::DeadlineExceededError(absl::StrCat(
          "could not register within ", absl::FormatDuration(timeout), ": ", s.message()));
    }
    const absl::Time until = absl::Now() + backoff;
    while (absl::Now() < until) {
      if (cancelled && cancelled()) return absl::CancelledError("registration cancelled");
      absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Registration::SendHeartbeat(const HeartbeatReport& report, bool* known) {
  cluster::v1::HeartbeatRequest request;
  request.set_worker_id(options_.worker_id);
  request.set_join_token(options_.join_token);
  request.set_state(report.state);
  request.set_detail(report.detail);
  if (report.load.has_value()) *request.mutable_load() = *report.load;
  grpc::ClientContext context;
  context.set_deadline(Deadline(
      std::min(options_.call_timeout, std::max(heartbeat_interval(), absl::Milliseconds(500)))));
  cluster::v1::HeartbeatResponse response;
  const grpc::Status s = stub_->Heartbeat(&context, request, &response);
  if (!s.ok()) return FromGrpcStatus(s, "Heartbeat");
  *known = response.known();
  absl::MutexLock lock(&mu_);
  ++heartbeats_acked_;
  return absl::OkStatus();
}

void Registration::SetLink(Link link, const absl::Status& why) {
  Link before;
  {
    absl::MutexLock lock(&mu_);
    before = link_;
    link_ = link;
  }
  if (before == link) return;
  switch (link) {
    case Link::kOk:
      TPS_LOG(kInfo) << "coordinator reachable again; heartbeats resumed";
      break;
    case Link::kUnreachable:
      TPS_LOG(kWarning) << "coordinator unreachable (" << why.message()
                        << "); serving continues, retrying with backoff";
      break;
    case Link::kRefused:
      TPS_LOG(kError) << "coordinator refused this worker (" << why.message()
                      << "); serving continues, retrying with backoff";
      break;
  }
}

void Registration::StartHeartbeats(std::function<HeartbeatReport()> report) {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable()) return;
  report_ = std::move(report);
  stop_ = false;
  thread_ = std::thread([this] { HeartbeatLoop(); });
}

void Registration::HeartbeatLoop() {
  absl::Duration wait = absl::ZeroDuration();
  int failures = 0;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || poke_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
      if (stop_) return;
      poke_ = false;
    }
    bool known = true;
    absl::Status s = SendHeartbeat(report_(), &known);
    if (s.ok() && !known) {
      TPS_LOG(kWarning) << "the coordinator does not know worker " << options_.worker_id
                        << " (it restarted?): registering again";
      s = RegisterOnce();
      if (s.ok()) s = SendHeartbeat(report_(), &known);
    }
    if (s.ok()) {
      SetLink(Link::kOk, s);
      failures = 0;
      wait = heartbeat_interval();
      continue;
    }
    SetLink(Retryable(s.code()) ? Link::kUnreachable : Link::kRefused, s);
    // A blip is retried at once; a longer outage at most max_backoff apart.
    ++failures;
    wait = std::min(options_.max_backoff, absl::Milliseconds(50) * (1 << std::min(failures, 6)));
  }
}

void Registration::Poke() {
  absl::MutexLock lock(&mu_);
  poke_ = true;
}

void Registration::Stop(const std::optional<HeartbeatReport>& last) {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (last.has_value()) {
    bool known = true;
    (void)SendHeartbeat(*last, &known);
  }
}

cluster::v1::Assignment Registration::assignment() const {
  absl::MutexLock lock(&mu_);
  return assignment_;
}

absl::Duration Registration::heartbeat_interval() const {
  absl::MutexLock lock(&mu_);
  return interval_;
}

int64_t Registration::registrations() const {
  absl::MutexLock lock(&mu_);
  return registrations_;
}

int64_t Registration::heartbeats_acked() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_acked_;
}

}  // namespace tpserve::worker
