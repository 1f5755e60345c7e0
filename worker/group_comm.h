// Forms the communicator of a group and checks it with a sanity all-reduce whose result has a
// closed form. Transport "shm" (default: shared memory, for ranks on one host) or "gloo" (TCP;
// what ranks on different hosts use). Rendezvous through a Store: a FileStore directory for
// local groups, the coordinator's store (GrpcStore under a per-formation prefix) in service mode.
#ifndef TPSERVE_WORKER_GROUP_COMM_H_
#define TPSERVE_WORKER_GROUP_COMM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/comm/communicator.h"
#include "ops/comm/store.h"

namespace tpserve::worker {

inline constexpr char kDefaultLocalTransport[] = "shm";

struct GroupCommOptions {
  std::string transport = kDefaultLocalTransport;  // "shm" or "gloo"
  std::string gloo_hostname = "127.0.0.1";         // the address this rank's Gloo pairs listen on
  absl::Duration connect_timeout = absl::Seconds(60);
  absl::Duration collective_timeout = absl::Seconds(30);
};

absl::StatusOr<std::unique_ptr<comm::Communicator>> JoinGroup(comm::Store& store, int rank,
                                                              int tp_size,
                                                              const GroupCommOptions& options);

// JoinGroup over a FileStore in `store_dir` (a local group).
absl::StatusOr<std::unique_ptr<comm::Communicator>> JoinLocalGroup(const std::string& store_dir,
                                                                   const std::string& transport,
                                                                   int rank, int tp_size,
                                                                   absl::Duration connect_timeout,
                                                                   absl::Duration collective_timeout);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GROUP_COMM_H_
