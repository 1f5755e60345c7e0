// Forms the communicator of a group and checks it with a sanity all-reduce whose result has a
// closed form. Rendezvous through a Store: a FileStore directory for local groups, the
// coordinator's store (GrpcStore under a per-formation prefix) in service mode.
#ifndef TPSERVE_WORKER_GROUP_COMM_H_
#define TPSERVE_WORKER_GROUP_COMM_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/store.h"
#include "ops/comm/communicator.h"

namespace tpserve::worker {

// The collectives between the CPU ranks of a group.
enum class Transport {
  kShm,   // shared memory: ranks on one host (the default)
  kGloo,  // Gloo over TCP: ranks on different hosts
};

// "shm" / "gloo" (flags, the GroupSetup message).
const char* TransportName(Transport transport);
// InvalidArgument naming `field` for anything else.
absl::StatusOr<Transport> ParseTransport(std::string_view text, std::string_view field);

struct GroupCommOptions {
  Transport transport = Transport::kShm;
  std::string gloo_hostname = "127.0.0.1";  // the address this rank's Gloo pairs listen on
  absl::Duration connect_timeout = absl::Seconds(60);
  absl::Duration collective_timeout = absl::Seconds(30);
};

absl::StatusOr<std::unique_ptr<comm::Communicator>> JoinGroup(comm::Store& store, int rank,
                                                              int world_size,
                                                              const GroupCommOptions& options);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GROUP_COMM_H_
