#include "worker/group_leader.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "worker/group_setup.h"
#include "worker/plan_codec.h"

namespace tpserve::worker {

absl::StatusOr<std::unique_ptr<GroupLeader>> GroupLeader::Create(const GroupLeaderOptions& options,
                                                                 comm::Store& store,
                                                                 ops::Backend& backend) {
  const model::ParallelLayout layout{.tp_size = options.world_size, .tp_rank = 0};
  TPS_RETURN_IF_ERROR(layout.Validate());
  std::unique_ptr<GroupLeader> g(new GroupLeader(options, store));
  std::random_device rd;
  g->instance_ = absl::StrFormat("%08x%08x", rd(), rd());
  if (options.world_size > 1) {
    TPS_ASSIGN_OR_RETURN(g->server_, ControlServer::Listen(options.control_host, 0));
  }
  TPS_ASSIGN_OR_RETURN(g->loaded_,
                       shard::LoadQwen35Model(options.model_dir, backend, layout, options.model));
  return g;
}

GroupLeader::~GroupLeader() { loaded_.model.reset(); }

std::string GroupLeader::control_address() const {
  return server_ ? absl::StrCat(options_.control_host, ":", server_->port()) : "";
}

absl::Status GroupLeader::Form(const std::function<absl::Status()>& check) {
  Break(absl::OkStatus());
  const int world = options_.world_size;
  if (world > 1) {
    // Published at every formation: a restarted coordinator has forgotten it.
    TPS_RETURN_IF_ERROR(store_.Set(options_.store_prefix + "/control", control_address()));
    const std::string prefix =
        absl::StrCat(options_.store_prefix, "/formation/", instance_, "-", formations_ + 1);
    cluster::v1::GroupSetup setup = MakeGroupSetup(options_.model_dir, world, options_.model);
    setup.set_rendezvous_prefix(prefix);
    setup.set_transport(TransportName(options_.comm.transport));
    TPS_RETURN_IF_ERROR(
        followers_.AcceptAll(*server_, setup, absl::Now() + options_.accept_timeout, check));
    TPS_LOG(kInfo) << "all " << world - 1 << " followers connected; joining the communicator ("
                   << TransportName(options_.comm.transport) << ", " << prefix << ")";
    comm::PrefixStore rendezvous(prefix, store_);
    TPS_ASSIGN_OR_RETURN(comm_, JoinGroup(rendezvous, 0, world, options_.comm));
    timed_ = std::make_unique<comm::TimedCommunicator>(*comm_);
    TPS_RETURN_IF_ERROR(loaded_.model->set_communicator(timed_.get()));
    TPS_RETURN_IF_ERROR(followers_.WaitReady(absl::Now() + options_.ready_timeout));
  }
  TPS_RETURN_IF_ERROR_CTX(WarmUp(), "warm-up step");
  ++formations_;
  return absl::OkStatus();
}

absl::Status GroupLeader::WarmUp() {
  const int32_t slot = loaded_.model->memory().FindFreeSlot();
  if (slot < 0) return absl::InternalError("no free slot for the warm-up step");
  shard::StepPlan plan;
  plan.step_id = next_step_id_++;
  plan.sequences.push_back({.slot = slot,
                            .start_index = 0,
                            .token_ids = {0},
                            .logits = shard::LogitsMode::kLast,
                            .new_sequence = true});
  TPS_RETURN_IF_ERROR(Run(plan).status());
  shard::StepPlan release;
  release.step_id = next_step_id_++;
  release.release_slots = {slot};
  return Run(release).status();
}

void GroupLeader::Break(const absl::Status& why) {
  if (comm_ != nullptr && !why.ok()) comm_->Abort(why);
  followers_.Close();
  if (loaded_.model != nullptr) {
    (void)loaded_.model->set_communicator(nullptr);
    shard::SequenceMemory& m = loaded_.model->memory();
    for (int32_t slot = 0; slot < m.config().max_slots; ++slot) {
      if (m.in_use(slot)) (void)m.Release(slot);
    }
  }
  if (timed_ != nullptr) collective_before_ += timed_->seconds();
  timed_.reset();
  comm_.reset();
  broken_ = absl::OkStatus();
}

void GroupLeader::Shutdown(const std::string& reason) {
  followers_.SendShutdown(reason);
  followers_.Close();
}

absl::StatusOr<shard::StepLogits> GroupLeader::Run(const shard::StepPlan& plan) {
  if (!broken_.ok()) return broken_;
  absl::Status s;
  if (options_.world_size > 1) {
    cluster::v1::ControlMessage m;
    EncodePlan(plan, m.mutable_step());
    s = Annotate(followers_.SendAll(m), absl::StrCat("sending step ", plan.step_id));
  }
  absl::StatusOr<shard::StepLogits> logits = s.ok() ? loaded_.model->Forward(plan) : s;
  if (logits.ok()) return logits;
  // Name a follower whose connection closed (it died) when there is one.
  const absl::Status followers = followers_.CheckOpen();
  broken_ = absl::UnavailableError(
      absl::StrCat("tensor-parallel group of ", options_.world_size, " failed",
                   followers.ok() ? "" : absl::StrCat(" (", followers.message(), ")"), ": ",
                   logits.status().message()));
  if (comm_ != nullptr) comm_->Abort(broken_);
  return broken_;
}

}  // namespace tpserve::worker
