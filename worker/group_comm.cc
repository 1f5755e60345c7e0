#include "worker/group_comm.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"
#include "ops/comm/gloo/gloo_communicator.h"
#include "ops/comm/shm/shm_communicator.h"

namespace tpserve::worker {

absl::StatusOr<std::unique_ptr<comm::Communicator>> JoinGroup(comm::Store& store, int rank,
                                                              int tp_size,
                                                              const GroupCommOptions& options) {
  std::unique_ptr<comm::Communicator> c;
  if (options.transport == "gloo") {
    comm::GlooOptions o;
    o.hostname = options.gloo_hostname;
    o.connect_timeout = options.connect_timeout;
    o.collective_timeout = options.collective_timeout;
    TPS_ASSIGN_OR_RETURN(c, comm::CreateGlooCommunicator(store, rank, tp_size, o));
  } else if (options.transport == "shm") {
    comm::ShmOptions o;
    o.connect_timeout = options.connect_timeout;
    o.collective_timeout = options.collective_timeout;
    TPS_ASSIGN_OR_RETURN(c, comm::CreateShmCommunicator(store, rank, tp_size, o));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("transport must be shm or gloo, got '", options.transport, "'"));
  }
  // Sanity all-reduce: Σ (rank + 1) = T (T + 1) / 2 on every rank.
  std::vector<float> v(1, static_cast<float>(rank + 1));
  TPS_RETURN_IF_ERROR(c->AllReduce(ops::TensorView(v.data(), DType::kF32, ops::Shape{1}),
                                   comm::ReduceOp::kSum));
  const float want = static_cast<float>(tp_size * (tp_size + 1) / 2);
  if (v[0] != want) {
    return absl::InternalError(absl::StrCat("group sanity all-reduce gave ", v[0], ", expected ", want));
  }
  return c;
}

absl::StatusOr<std::unique_ptr<comm::Communicator>> JoinLocalGroup(const std::string& store_dir,
                                                                   const std::string& transport,
                                                                   int rank, int tp_size,
                                                                   absl::Duration connect_timeout,
                                                                   absl::Duration collective_timeout) {
  comm::FileStore store(store_dir);
  GroupCommOptions o;
  o.transport = transport;
  o.connect_timeout = connect_timeout;
  o.collective_timeout = collective_timeout;
  return JoinGroup(store, rank, tp_size, o);
}

}  // namespace tpserve::worker
