#include "worker/service_follower.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "ops/comm/timed_communicator.h"
#include "worker/control_channel.h"
#include "worker/follower.h"
#include "worker/group_setup.h"
#include "worker/scheduler/build_step_plan.h"

namespace tpserve::worker {
namespace {

// Sleeps up to `d`, returning early (true) when `stop` says so.
bool SleepUnlessStopped(absl::Duration d, const std::function<bool()>& stop) {
  const absl::Time until = absl::Now() + d;
  while (absl::Now() < until) {
    if (stop()) return true;
    absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
  }
  return stop();
}

}  // namespace

ServiceFollower::ServiceFollower(const ServiceFollowerOptions& options, comm::Store& store,
                                 ops::Backend& backend, WorkerStatus& status,
                                 WorkerMetrics* metrics)
    : options_(options), store_(store), backend_(backend), status_(status), metrics_(metrics) {}

ServiceFollower::~ServiceFollower() = default;

void ServiceFollower::SetStatus(WorkerState state, const std::string& detail) {
  status_.Set(state, detail);
  if (metrics_ != nullptr) metrics_->SetState(state);
}

void ServiceFollower::PublishMemory() {
  if (metrics_ == nullptr || loaded_.model == nullptr) return;
  shard::SequenceMemory& m = loaded_.model->memory();
  metrics_->SetMemory(m.slots_in_use(), m.config().max_slots, m.blocks_in_use(), m.num_blocks());
  metrics_->SetVision(VisionUsageOf(*loaded_.model));
}

void ServiceFollower::ReleaseAllSlots() {
  if (loaded_.model == nullptr) return;
  shard::SequenceMemory& m = loaded_.model->memory();
  for (int32_t slot = 0; slot < m.config().max_slots; ++slot) {
    if (m.in_use(slot)) (void)m.Release(slot);
  }
}

absl::Status ServiceFollower::EnsureLoaded(const cluster::v1::GroupSetup& setup) {
  cluster::v1::GroupSetup key = setup;
  key.clear_rendezvous_prefix();
  const std::string serialized = key.SerializeAsString();
  if (loaded_.model != nullptr && serialized == loaded_setup_) return absl::OkStatus();
  loaded_ = shard::LoadedModel();
  loaded_setup_.clear();
  TPS_ASSIGN_OR_RETURN(shard::ModelOptions options, ModelOptionsFromSetup(setup));
  const std::string dir = options_.model_dir.empty() ? setup.model_dir() : options_.model_dir;
  SetStatus(WorkerState::kLoading, absl::StrCat("loading the shard of ", dir));
  const shard::ParallelLayout layout{.tp_size = options_.world_size, .tp_rank = options_.rank};
  TPS_ASSIGN_OR_RETURN(loaded_, shard::LoadQwen35Model(dir, backend_, layout, options));
  loaded_setup_ = serialized;
  return absl::OkStatus();
}

absl::Status ServiceFollower::JoinOnce(const std::function<bool()>& stop) {
  const std::string who = absl::StrCat("rank ", options_.rank, " of ", options_.world_size);
  const std::string key = options_.store_prefix + "/control";
  std::string address;
  for (;;) {
    if (stop()) return absl::CancelledError("stopping");
    absl::StatusOr<std::string> v = store_.Wait(key, absl::Seconds(1));
    if (v.ok()) {
      address = *std::move(v);
      break;
    }
    if (!absl::IsDeadlineExceeded(v.status())) return v.status();
  }
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<ControlConnection> conn,
                       ConnectControl(address, options_.connect_timeout));
  cluster::v1::ControlMessage hello;
  hello.mutable_hello()->set_protocol_version(cluster::v1::STEP_PROTOCOL_VERSION);
  hello.mutable_hello()->set_rank(options_.rank);
  hello.mutable_hello()->set_join_token(options_.join_token);
  TPS_RETURN_IF_ERROR(conn->Send(hello));
  // The setup comes once every rank has connected, which may take a while.
  while (!conn->WaitReadable(absl::Milliseconds(100))) {
    if (stop()) return absl::CancelledError("stopping");
  }
  TPS_ASSIGN_OR_RETURN(cluster::v1::ControlMessage first, conn->Receive(options_.setup_timeout));
  if (!first.has_setup()) return absl::InvalidArgumentError(who + ": expected the group setup first");
  const cluster::v1::GroupSetup& setup = first.setup();

  std::unique_ptr<comm::Communicator> comm;
  std::unique_ptr<comm::TimedCommunicator> timed;
  load_failed_ = false;
  absl::Status join = [&]() -> absl::Status {
    if (setup.tp_size() != options_.world_size) {
      return absl::InvalidArgumentError(absl::StrCat("the leader's group has ", setup.tp_size(),
                                                     " ranks, this worker was started for ",
                                                     options_.world_size));
    }
    if (absl::Status s = EnsureLoaded(setup); !s.ok()) {
      load_failed_ = true;
      return s;
    }
    ReleaseAllSlots();
    comm::PrefixStore rendezvous(setup.rendezvous_prefix(), store_);
    GroupCommOptions comm_options = options_.comm;
    if (!setup.transport().empty()) comm_options.transport = setup.transport();
    TPS_ASSIGN_OR_RETURN(comm, JoinGroup(rendezvous, options_.rank, options_.world_size, comm_options));
    timed = std::make_unique<comm::TimedCommunicator>(*comm);
    return loaded_.model->set_communicator(timed.get());
  }();
  cluster::v1::ControlMessage ready;
  ready.mutable_ready()->set_rank(options_.rank);
  if (!join.ok()) ready.mutable_ready()->set_error(std::string(join.message()));
  TPS_RETURN_IF_ERROR(conn->Send(ready));
  TPS_RETURN_IF_ERROR_CTX(join, who);

  ++formations_;
  if (metrics_ != nullptr) metrics_->AddFormation();
  SetStatus(WorkerState::kReady, absl::StrCat("following the leader at ", address));
  PublishMemory();
  double collective = 0;
  FollowerStepHooks hooks;
  hooks.stop = stop;
  hooks.on_step = [&](const shard::StepPlan& plan, double seconds) {
    if (metrics_ == nullptr) return;
    metrics_->ObserveStep(PhaseOf(plan), seconds);
    metrics_->AddCollectiveSeconds(timed->seconds() - collective);
    collective = timed->seconds();
    PublishMemory();
  };
  absl::Status s = RunFollowerSteps(*conn, *loaded_.model, *timed, who, hooks);
  (void)loaded_.model->set_communicator(nullptr);
  timed.reset();
  comm.reset();
  ReleaseAllSlots();
  PublishMemory();
  if (s.ok()) return absl::UnavailableError("the leader shut the group down");
  return s;
}

absl::Status ServiceFollower::Run(const std::function<bool()>& stop) {
  SetStatus(WorkerState::kLoading, absl::StrCat("waiting for the group leader (", options_.store_prefix, ")"));
  while (!stop()) {
    const absl::Status s = JoinOnce(stop);
    if (stop()) break;
    if (load_failed_) {
      SetStatus(WorkerState::kFailed, absl::StrCat("cannot load the shard: ", s.message()));
      if (SleepUnlessStopped(absl::Seconds(2), stop)) break;
      continue;
    }
    SetStatus(WorkerState::kLoading,
              absl::StrCat("re-joining the group (last: ", s.message(), ")"));
    if (SleepUnlessStopped(absl::Milliseconds(200), stop)) break;
  }
  return absl::OkStatus();
}

}  // namespace tpserve::worker
