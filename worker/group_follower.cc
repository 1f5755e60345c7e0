#include "worker/group_follower.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "ops/comm/timed_communicator.h"
#include "worker/group_setup.h"
#include "worker/plan_codec.h"

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

GroupFollower::GroupFollower(const GroupFollowerOptions& options, comm::Store& store,
                             ops::Backend& backend, Observer* observer)
    : options_(options), store_(store), backend_(backend), observer_(observer) {}

GroupFollower::~GroupFollower() = default;

void GroupFollower::ReleaseAllSlots() {
  if (loaded_.model == nullptr) return;
  shard::SequenceMemory& m = loaded_.model->memory();
  for (int32_t slot = 0; slot < m.config().max_slots; ++slot) {
    if (m.in_use(slot)) (void)m.Release(slot);
  }
  if (observer_ != nullptr) observer_->OnMemory(*loaded_.model);
}

absl::Status GroupFollower::EnsureLoaded(const cluster::v1::GroupSetup& setup) {
  cluster::v1::GroupSetup key = setup;
  key.clear_rendezvous_prefix();
  const std::string serialized = key.SerializeAsString();
  if (loaded_.model != nullptr && serialized == loaded_setup_) return absl::OkStatus();
  loaded_ = shard::LoadedModel();
  loaded_setup_.clear();
  TPS_ASSIGN_OR_RETURN(shard::ModelOptions options, ModelOptionsFromSetup(setup));
  const std::string dir = options_.model_dir.empty() ? setup.model_dir() : options_.model_dir;
  if (observer_ != nullptr) observer_->OnLoading(absl::StrCat("loading the shard of ", dir));
  const model::ParallelLayout layout{.tp_size = options_.world_size, .tp_rank = options_.rank};
  TPS_ASSIGN_OR_RETURN(loaded_, shard::LoadQwen35Model(dir, backend_, layout, options));
  loaded_setup_ = serialized;
  return absl::OkStatus();
}

absl::Status GroupFollower::RunSteps(ControlConnection& conn, comm::TimedCommunicator& comm,
                                     const std::function<bool()>& stop, const std::string& who) {
  double collective = comm.seconds();
  for (;;) {
    while (!conn.WaitReadable(absl::Milliseconds(100))) {
      if (stop()) return absl::CancelledError(who + ": stopping");
    }
    TPS_ASSIGN_OR_RETURN(cluster::v1::ControlMessage m, conn.Receive(absl::InfiniteDuration()));
    if (m.has_shutdown()) return absl::OkStatus();
    if (!m.has_step()) return absl::InvalidArgumentError(who + ": unexpected control message");
    TPS_ASSIGN_OR_RETURN(shard::StepPlan plan, DecodePlan(m.step()));
    const absl::Time start = absl::Now();
    if (absl::Status s = loaded_.model->Forward(plan).status(); !s.ok()) {
      comm.Abort(s);
      return Annotate(s, who);
    }
    if (observer_ != nullptr) {
      observer_->OnStep(plan, absl::ToDoubleSeconds(absl::Now() - start),
                        comm.seconds() - collective);
      collective = comm.seconds();
      observer_->OnMemory(*loaded_.model);
    }
  }
}

absl::Status GroupFollower::FollowOnce(const std::function<bool()>& stop) {
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
  if (!first.has_setup()) {
    return absl::InvalidArgumentError(who + ": expected the group setup first");
  }
  const cluster::v1::GroupSetup& setup = first.setup();

  // Load and join (or fail) and report either way, so the leader never waits for a rank that
  // gave up.
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
    if (!setup.transport().empty()) {
      TPS_ASSIGN_OR_RETURN(comm_options.transport,
                           ParseTransport(setup.transport(), "group setup: transport"));
    }
    TPS_ASSIGN_OR_RETURN(comm,
                         JoinGroup(rendezvous, options_.rank, options_.world_size, comm_options));
    timed = std::make_unique<comm::TimedCommunicator>(*comm);
    return loaded_.model->set_communicator(timed.get());
  }();
  cluster::v1::ControlMessage ready;
  ready.mutable_ready()->set_rank(options_.rank);
  if (!join.ok()) ready.mutable_ready()->set_error(std::string(join.message()));
  TPS_RETURN_IF_ERROR(conn->Send(ready));
  TPS_RETURN_IF_ERROR_CTX(join, who);

  ++formations_;
  if (observer_ != nullptr) {
    observer_->OnFormation();
    observer_->OnReady(absl::StrCat("following the leader at ", address));
    observer_->OnMemory(*loaded_.model);
  }
  const absl::Status s = RunSteps(*conn, *timed, stop, who);
  (void)loaded_.model->set_communicator(nullptr);
  timed.reset();
  comm.reset();
  ReleaseAllSlots();
  return s;
}

absl::Status GroupFollower::Run(const std::function<bool()>& stop) {
  if (observer_ != nullptr) {
    observer_->OnLoading(
        absl::StrCat("waiting for the group leader (", options_.store_prefix, ")"));
  }
  while (!stop()) {
    absl::Status s = FollowOnce(stop);
    if (stop()) break;
    if (s.ok()) s = absl::UnavailableError("the leader shut the group down");
    if (load_failed_) {
      if (observer_ != nullptr) {
        observer_->OnFailed(absl::StrCat("cannot load the shard: ", s.message()));
      }
      if (SleepUnlessStopped(absl::Seconds(2), stop)) break;
      continue;
    }
    if (observer_ != nullptr) {
      observer_->OnLoading(absl::StrCat("re-joining the group (last: ", s.message(), ")"));
    }
    if (SleepUnlessStopped(absl::Milliseconds(200), stop)) break;
  }
  return absl::OkStatus();
}

}  // namespace tpserve::worker
