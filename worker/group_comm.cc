#include "worker/group_comm.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "ops/comm/gloo/gloo_communicator.h"
#include "ops/comm/shm/shm_communicator.h"

namespace tpserve::worker {

const char* TransportName(Transport transport) {
  return transport == Transport::kGloo ? "gloo" : "shm";
}

absl::StatusOr<Transport> ParseTransport(std::string_view text, std::string_view field) {
  if (text == "shm") return Transport::kShm;
  if (text == "gloo") return Transport::kGloo;
  return absl::InvalidArgumentError(absl::StrCat(absl::string_view(field.data(), field.size()),
                                                 " must be shm or gloo, got ", EchoValue(text)));
}

absl::StatusOr<std::unique_ptr<comm::Communicator>> JoinGroup(comm::Store& store, int rank,
                                                              int world_size,
                                                              const GroupCommOptions& options) {
  std::unique_ptr<comm::Communicator> c;
  switch (options.transport) {
    case Transport::kGloo: {
      comm::GlooOptions o;
      o.hostname = options.gloo_hostname;
      o.connect_timeout = options.connect_timeout;
      o.collective_timeout = options.collective_timeout;
      TPS_ASSIGN_OR_RETURN(c, comm::CreateGlooCommunicator(store, rank, world_size, o));
      break;
    }
    case Transport::kShm: {
      comm::ShmOptions o;
      o.connect_timeout = options.connect_timeout;
      o.collective_timeout = options.collective_timeout;
      TPS_ASSIGN_OR_RETURN(c, comm::CreateShmCommunicator(store, rank, world_size, o));
      break;
    }
  }
  // Sanity all-reduce: Σ (rank + 1) = T (T + 1) / 2 on every rank.
  std::vector<float> v(1, static_cast<float>(rank + 1));
  TPS_RETURN_IF_ERROR(
      c->AllReduce(ops::TensorView(v.data(), DType::kF32, ops::Shape{1}), comm::ReduceOp::kSum));
  const float want = static_cast<float>(world_size * (world_size + 1) / 2);
  if (v[0] != want) {
    return absl::InternalError(
        absl::StrCat("group sanity all-reduce gave ", v[0], ", expected ", want));
  }
  return c;
}

}  // namespace tpserve::worker
