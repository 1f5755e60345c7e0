#include "worker/follower.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"
#include "shard/model_loader.h"
#include "worker/group_comm.h"
#include "worker/group_setup.h"
#include "worker/plan_codec.h"

namespace tpserve::worker {

absl::Status RunFollowerSteps(ControlConnection& conn, shard::Qwen35Model& model,
                              comm::Communicator& comm, const std::string& who,
                              const FollowerStepHooks& hooks) {
  for (;;) {
    if (hooks.stop) {
      while (!conn.WaitReadable(absl::Milliseconds(100))) {
        if (hooks.stop()) return absl::CancelledError(who + ": stopping");
      }
    }
    TPS_ASSIGN_OR_RETURN(cluster::v1::ControlMessage m, conn.Receive(absl::InfiniteDuration()));
    if (m.has_shutdown()) return absl::OkStatus();
    if (!m.has_step()) return absl::InvalidArgumentError(who + ": unexpected control message");
    TPS_ASSIGN_OR_RETURN(shard::StepPlan plan, DecodePlan(m.step()));
    const absl::Time start = absl::Now();
    if (absl::Status s = model.Forward(plan).status(); !s.ok()) {
      comm.Abort(s);
      return Annotate(s, who);
    }
    if (hooks.on_step) hooks.on_step(plan, absl::ToDoubleSeconds(absl::Now() - start));
  }
}

absl::Status RunFollower(const FollowerOptions& o) {
  const std::string who = absl::StrCat("rank ", o.rank, " of ", o.tp_size);
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<ControlConnection> conn,
                       ConnectControl(o.control_address, o.startup_timeout));
  cluster::v1::ControlMessage hello;
  hello.mutable_hello()->set_protocol_version(cluster::v1::STEP_PROTOCOL_VERSION);
  hello.mutable_hello()->set_rank(o.rank);
  TPS_RETURN_IF_ERROR(conn->Send(hello));
  TPS_ASSIGN_OR_RETURN(cluster::v1::ControlMessage first, conn->Receive(o.startup_timeout));
  if (!first.has_setup()) return absl::InvalidArgumentError(who + ": expected the group setup first");

  // Load (or fail) and report either way, so the leader never waits for a rank that gave up.
  std::unique_ptr<ops::Backend> backend;
  std::unique_ptr<comm::Communicator> comm;
  shard::LoadedModel loaded;
  absl::Status load = [&]() -> absl::Status {
    TPS_ASSIGN_OR_RETURN(shard::ModelOptions options, ModelOptionsFromSetup(first.setup()));
    TPS_ASSIGN_OR_RETURN(backend, ops::CreateBackend({.cpu_threads = o.threads}));
    const std::string transport =
        first.setup().transport().empty() ? o.transport : first.setup().transport();
    TPS_ASSIGN_OR_RETURN(comm, JoinLocalGroup(o.store_dir, transport, o.rank, o.tp_size,
                                              o.startup_timeout, o.collective_timeout));
    const shard::ParallelLayout layout{.tp_size = o.tp_size, .tp_rank = o.rank};
    TPS_ASSIGN_OR_RETURN(loaded, shard::LoadQwen35Model(first.setup().model_dir(), *backend, layout, options));
    return loaded.model->set_communicator(comm.get());
  }();
  cluster::v1::ControlMessage ready;
  ready.mutable_ready()->set_rank(o.rank);
  if (!load.ok()) ready.mutable_ready()->set_error(std::string(load.message()));
  TPS_RETURN_IF_ERROR(conn->Send(ready));
  TPS_RETURN_IF_ERROR_CTX(load, who);
  return RunFollowerSteps(*conn, *loaded.model, *comm, who);
}

}  // namespace tpserve::worker
