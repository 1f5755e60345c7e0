#include "tools/cli/replica.h"

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/core/backend_registry.h"

namespace tpserve::cli {

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(const std::string& model_dir, int tp,
                                                       int threads,
                                                       const shard::ModelOptions& options,
                                                       const std::string& transport) {
  if (tp < 1 || tp > 64) return absl::InvalidArgumentError(absl::StrCat("--tp must be in [1, 64], got ", tp));
  std::unique_ptr<Replica> r(new Replica());
  r->tp_ = tp;
  r->threads_ = threads;
  r->transport_ = transport;
  if (tp == 1) {
    TPS_ASSIGN_OR_RETURN(r->backend_, ops::CreateBackend({.kind = ops::DeviceKind::kCpu, .cpu_threads = threads}));
    TPS_ASSIGN_OR_RETURN(r->loaded_, shard::LoadQwen35Model(model_dir, *r->backend_, {}, options));
    r->local_ = std::make_unique<shard::LocalStepRunner>(*r->loaded_.model);
  } else {
    worker::LocalGroupOptions g;
    g.model_dir = model_dir;
    g.tp_size = tp;
    g.model = options;
    g.threads_per_rank = threads > 0 ? threads : 1;
    g.transport = transport;
    TPS_ASSIGN_OR_RETURN(r->group_, worker::LocalGroup::Start(g));
  }
  return r;
}

std::string Replica::Describe() const {
  if (group_) {
    return absl::StrCat(tp_, " ranks x ", threads_ > 0 ? threads_ : 1, " thread(s) each, ",
                        transport_, " collectives");
  }
  return backend_->info().description;
}

}  // namespace tpserve::cli
