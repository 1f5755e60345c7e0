// The CPU communicator: Gloo (Debian libgloo-dev) over TCP. Ranks rendezvous through a Store: each
// publishes its listening address and connects a full mesh.
#ifndef TPSERVE_OPS_COMM_GLOO_GLOO_COMMUNICATOR_H_
#define TPSERVE_OPS_COMM_GLOO_GLOO_COMMUNICATOR_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/store.h"
#include "ops/comm/communicator.h"

namespace tpserve::comm {

struct GlooOptions {
  std::string hostname = "127.0.0.1";  // address this rank listens on
  absl::Duration connect_timeout = absl::Seconds(60);
  absl::Duration collective_timeout = absl::Seconds(30);  // default per collective
};

absl::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(Store& store, int rank,
                                                                     int world_size,
                                                                     const GlooOptions& options);

}  // namespace tpserve::comm

#endif  // TPSERVE_OPS_COMM_GLOO_GLOO_COMMUNICATOR_H_
