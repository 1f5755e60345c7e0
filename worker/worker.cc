#include "worker/worker.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/health_check_service_interface.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"
#include "proto/cluster_credentials.h"
#include "vision/image_encoder.h"
#include "worker/coordinator_channel.h"
#include "worker/group_follower.h"
#include "worker/group_leader.h"
#include "worker/rank_flags.h"
#include "worker/scheduler/build_step_plan.h"
#include "worker/scheduler/step_engine.h"

namespace tpserve::worker {
namespace {

cluster::v1::WorkerState ToProto(WorkerState s) {
  switch (s) {
    case WorkerState::kLoading:
      return cluster::v1::WORKER_STATE_LOADING;
    case WorkerState::kReady:
      return cluster::v1::WORKER_STATE_READY;
    case WorkerState::kFailed:
      return cluster::v1::WORKER_STATE_FAILED;
    case WorkerState::kDraining:
      return cluster::v1::WORKER_STATE_DRAINING;
  }
  return cluster::v1::WORKER_STATE_FAILED;
}

// Splits "host:port" (the host may be bracketed IPv6).
std::pair<std::string, std::string> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {address, ""};
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, address.substr(colon + 1)};
}

// A follower's state and steps, as this worker's status and metrics.
class FollowerReporter final : public GroupFollower::Observer {
 public:
  FollowerReporter(WorkerStatus& status, WorkerMetrics* metrics)
      : status_(status), metrics_(metrics) {}

  void OnLoading(const std::string& detail) override { Set(WorkerState::kLoading, detail); }
  void OnReady(const std::string& detail) override { Set(WorkerState::kReady, detail); }
  void OnFailed(const std::string& detail) override { Set(WorkerState::kFailed, detail); }
  void OnFormation() override {
    if (metrics_ != nullptr) metrics_->AddFormation();
  }
  void OnStep(const shard::StepPlan& plan, double seconds, double collective_seconds) override {
    if (metrics_ == nullptr) return;
    metrics_->ObserveStep(PhaseOf(plan), seconds);
    metrics_->AddCollectiveSeconds(collective_seconds);
  }
  void OnMemory(shard::Qwen35Model& model) override {
    if (metrics_ == nullptr) return;
    shard::SequenceMemory& m = model.memory();
    metrics_->SetMemory(m.slots_in_use(), m.config().max_slots, m.blocks_in_use(), m.num_blocks());
    metrics_->SetVision(VisionUsageOf(model));
  }

 private:
  void Set(WorkerState state, const std::string& detail) {
    status_.Set(state, detail);
    if (metrics_ != nullptr) metrics_->SetState(state);
  }

  WorkerStatus& status_;
  WorkerMetrics* const metrics_;
};

bool SleepUnlessStopped(absl::Duration d, const std::atomic<bool>& stop) {
  const absl::Time until = absl::Now() + d;
  while (absl::Now() < until && !stop.load()) absl::SleepFor(absl::Milliseconds(20));
  return stop.load();
}

}  // namespace

std::string AdvertisedHost(const std::string& listen_host) {
  in_addr addr{};
  if (listen_host != "0.0.0.0" && inet_pton(AF_INET, listen_host.c_str(), &addr) == 1) {
    return listen_host;
  }
  std::string name = listen_host;
  if (name.empty() || name == "0.0.0.0" || name == "::") {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0) return "127.0.0.1";
    name = host;
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return "127.0.0.1";
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof(buf));
  freeaddrinfo(res);
  return buf;
}

Worker::Worker(WorkerOptions options, WorkerMetrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
  worker_id_ = MakeWorkerId();
  status_ = std::make_unique<WorkerStatus>(
      absl::StrCat("worker ", worker_id_),
      [this](const WorkerStatus::Snapshot& s) { OnStatusChange(s); });
  scheduler_ = std::make_unique<Scheduler>(options_.scheduler, metrics_);
  leader_service_ = std::make_unique<LeaderService>(*scheduler_, options_.join_token);
}

Worker::~Worker() {
  registration_.reset();
  if (server_ != nullptr)
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

void Worker::OnStatusChange(const WorkerStatus::Snapshot& s) {
  if (metrics_ != nullptr) metrics_->SetState(s.state);
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(s.state == WorkerState::kReady);
  }
  if (s.state == WorkerState::kReady && !printed_ready_ && !ready_line_.empty()) {
    printed_ready_ = true;
    std::fprintf(stdout, "%s\n", ready_line_.c_str());
    std::fflush(stdout);
  }
}

absl::Status Worker::StartServer() {
  grpc::EnableDefaultHealthCheckService(true);
  TPS_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                       cluster::ServerCredentialsFromFiles(options_.tls_cert, options_.tls_key));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen, credentials, &grpc_port_);
  builder.RegisterService(leader_service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen));
  }
  server_->GetHealthCheckService()->SetServingStatus(false);
  host_ = AdvertisedHost(SplitHostPort(options_.listen).first);
  address_ = absl::StrCat(host_, ":", grpc_port_);
  return absl::OkStatus();
}

absl::Status Worker::WritePortFile() const {
  if (options_.port_file.empty()) return absl::OkStatus();
  const std::string tmp = options_.port_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"grpc\":" << grpc_port_ << ",\"metrics\":" << options_.metrics_port << "}\n";
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.port_file, ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("cannot write ", options_.port_file, ": ", ec.message()));
  return absl::OkStatus();
}

HeartbeatReport Worker::Report() const {
  const WorkerStatus::Snapshot s = status_->Get();
  HeartbeatReport r;
  r.state = ToProto(s.state);
  r.detail = s.detail;
  if (is_leader_.load()) {
    const SchedulerLoad l = scheduler_->load();
    cluster::v1::ReplicaLoad load;
    load.set_running_sequences(l.running);
    load.set_waiting_sequences(l.waiting);
    if (l.serving_once) {
      load.set_max_sequences(l.limits.max_slots);
      load.set_kv_blocks_used(l.memory.blocks_in_use);
      load.set_kv_blocks_total(l.limits.num_kv_blocks);
      load.set_max_context(l.limits.max_context);
      load.set_vocab_size(static_cast<int32_t>(l.limits.vocab_size));
      load.set_has_vision(l.limits.has_vision);
    }
    r.load = load;
  }
  return r;
}

absl::Status Worker::Run() {
  status_->Set(WorkerState::kLoading, "starting");
  TPS_ASSIGN_OR_RETURN(backend_, ops::CreateBackend({.cpu_threads = options_.threads}));
  TPS_RETURN_IF_ERROR(StartServer());
  TPS_RETURN_IF_ERROR(WritePortFile());

  std::shared_ptr<grpc::Channel> channel =
      MakeCoordinatorChannel(options_.coordinator, options_.tls_ca_pem);
  store_ =
      std::make_unique<GrpcStore>(channel, GrpcStoreOptions{.join_token = options_.join_token});
  RegistrationOptions ro;
  ro.worker_id = worker_id_;
  ro.address = address_;
  ro.metrics_address = options_.metrics_address;
  const ops::DeviceInfo device = backend_->info();
  ro.device.set_kind(device.kind == ops::DeviceKind::kCpu ? "cpu" : std::string(backend_->name()));
  ro.device.set_name(device.description);
  ro.device.set_total_memory_bytes(device.total_memory_bytes);
  ro.device.set_free_memory_bytes(device.free_memory_bytes);
  std::string name = options_.model_name;
  if (name.empty() && !options_.model_dir.empty()) name = DefaultModelName(options_.model_dir);
  if (options_.assigned) {
    ro.assignment.set_model(name);
    ro.assignment.set_model_dir(options_.model_dir);
    ro.assignment.set_group(options_.group);
    ro.assignment.set_rank(options_.layout.tp_rank);
    ro.assignment.set_world_size(options_.layout.tp_size);
  }
  ro.join_token = options_.join_token;
  registration_ = std::make_unique<Registration>(channel, ro);
  status_->Set(WorkerState::kLoading, absl::StrCat("registering with ", options_.coordinator));
  absl::StatusOr<cluster::v1::Assignment> assignment =
      registration_->Register(options_.register_timeout, [this] { return stopping(); });
  if (!assignment.ok()) {
    if (absl::IsCancelled(assignment.status())) return absl::OkStatus();
    return assignment.status();
  }
  if (assignment->model().empty() || assignment->world_size() < 1 || assignment->rank() < 0 ||
      assignment->rank() >= assignment->world_size()) {
    return absl::InvalidArgumentError(absl::StrCat("the coordinator gave an unusable assignment: ",
                                                   assignment->ShortDebugString()));
  }
  // An explicit assignment serves --model; a placed worker serves what it was placed on (the
  // catalogue's directory), falling back to --model when the placement names none.
  const std::string model_dir = options_.assigned || assignment->model_dir().empty()
                                    ? options_.model_dir
                                    : assignment->model_dir();
  if (model_dir.empty()) {
    return absl::InvalidArgumentError(
        "no model directory: give --model or place the worker with a catalogue");
  }
  ready_line_ =
      absl::StrCat("tpserve-worker ", worker_id_, " rank ", assignment->rank(), "/",
                   assignment->world_size(), " of ", assignment->model(), "/", assignment->group(),
                   " serving on ", address_, " metrics ", options_.metrics_address);
  is_leader_.store(assignment->rank() == 0);
  registration_->StartHeartbeats([this] { return Report(); });

  const absl::Status s = assignment->rank() == 0 ? RunLeader(*assignment, model_dir)
                                                 : RunFollower(*assignment, model_dir);
  registration_->Stop(HeartbeatReport{cluster::v1::WORKER_STATE_FAILED,
                                      s.ok() ? "shutting down" : std::string(s.message()),
                                      std::nullopt});
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_.reset();
  return s;
}

absl::Status Worker::RunLeader(const cluster::v1::Assignment& assignment,
                               const std::string& model_dir) {
  GroupLeaderOptions go;
  go.model_dir = model_dir;
  go.world_size = assignment.world_size();
  go.model = options_.model;
  go.control_host = host_;
  go.store_prefix = absl::StrCat("group/", assignment.model(), "/", assignment.group());
  go.comm.transport = options_.transport;
  go.comm.gloo_hostname = host_;
  go.comm.collective_timeout = options_.collective_timeout;
  go.join_token = options_.join_token;
  status_->Set(WorkerState::kLoading, absl::StrCat("loading the shard of ", model_dir));
  absl::StatusOr<std::unique_ptr<GroupLeader>> created =
      GroupLeader::Create(go, *store_, *backend_);
  if (!created.ok()) {
    status_->Set(WorkerState::kFailed, absl::StrCat("cannot load: ", created.status().message()));
    return created.status();
  }
  GroupLeader& group = **created;
  if (const vision::ImageEncoder* encoder = group.model().image_encoder(); encoder != nullptr) {
    leader_service_->SetImageSettings({group.model().spec().image_token_id,
                                       encoder->options().preprocess, encoder->options().limits});
  }
  const int followers = go.world_size - 1;
  absl::Status last;
  while (!stopping()) {
    if (last.ok()) {
      status_->Set(WorkerState::kLoading,
                   followers > 0 ? absl::StrCat("forming the group: waiting for ", followers,
                                                " follower(s) at ", group.control_address())
                                 : "warming up");
    } else {
      status_->Set(WorkerState::kFailed,
                   absl::StrCat(last.message(), "; re-forming: waiting for ", followers,
                                " follower(s) at ", group.control_address()));
    }
    absl::Status s = group.Form([this]() -> absl::Status {
      return stopping() ? absl::CancelledError("stopping") : absl::OkStatus();
    });
    if (stopping()) break;
    if (!s.ok()) {
      TPS_LOG(kWarning) << "forming the group failed: " << s.message();
      group.Break(s);
      if (last.ok()) last = s;
      SleepUnlessStopped(absl::Milliseconds(500), stop_);
      continue;
    }
    if (metrics_ != nullptr) metrics_->AddFormation();
    RunnerStepEngine engine(group, [&group] { return group.collective_seconds(); });
    status_->Set(WorkerState::kReady, "");
    // A stop drains: first out of routing (DRAINING, sent at once), still accepting what the
    // coordinator dispatched before it saw that; new requests are refused only once the
    // coordinator acknowledged the state (or after a heartbeat interval), and the streams in
    // flight finish within the drain timeout.
    std::optional<absl::Time> drain_asked;
    int64_t acked_at_ask = 0;
    bool drain_started = false;
    s = scheduler_->Serve(engine, [&]() -> absl::Status {
      if (stopping() && !drain_asked.has_value()) {
        drain_asked = absl::Now();
        status_->Set(WorkerState::kDraining,
                     absl::StrCat("draining: finishing the streams in flight within ",
                                  absl::FormatDuration(options_.drain_timeout)));
        if (registration_ != nullptr) {
          acked_at_ask = registration_->heartbeats_acked();
          registration_->Poke();
        }
      }
      if (drain_asked.has_value() && !drain_started) {
        // Two acks: one heartbeat may have been in flight with the old state.
        const bool seen =
            registration_ == nullptr || registration_->heartbeats_acked() >= acked_at_ask + 2;
        const absl::Duration waited = absl::Now() - *drain_asked;
        if ((seen && waited > absl::ZeroDuration()) ||
            waited >= (registration_ != nullptr ? registration_->heartbeat_interval()
                                                : absl::ZeroDuration())) {
          drain_started = true;
          scheduler_->BeginDrain(std::max(absl::ZeroDuration(), options_.drain_timeout - waited));
        }
      }
      return group.CheckFollowers();
    });
    if (s.ok()) break;  // drained after a stop request
    last = s;
    TPS_LOG(kWarning) << "the group broke: " << s.message();
    group.Break(s);
    scheduler_->SetRejectStatus(absl::UnavailableError(
        absl::StrCat("the tensor-parallel group is re-forming after: ", s.message())));
  }
  group.Shutdown("the leader is stopping");
  return absl::OkStatus();
}

absl::Status Worker::RunFollower(const cluster::v1::Assignment& assignment,
                                 const std::string& model_dir) {
  scheduler_->SetRejectStatus(absl::FailedPreconditionError(absl::StrCat(
      "rank ", assignment.rank(), " is a follower; Generate goes to rank 0 of the group")));
  GroupFollowerOptions fo;
  fo.rank = assignment.rank();
  fo.world_size = assignment.world_size();
  fo.model_dir = model_dir;
  fo.store_prefix = absl::StrCat("group/", assignment.model(), "/", assignment.group());
  fo.comm.transport = options_.transport;
  fo.comm.gloo_hostname = host_;
  fo.comm.collective_timeout = options_.collective_timeout;
  fo.join_token = options_.join_token;
  FollowerReporter reporter(*status_, metrics_);
  GroupFollower follower(fo, *store_, *backend_, &reporter);
  return follower.Run([this] { return stopping(); });
}

}  // namespace tpserve::worker
