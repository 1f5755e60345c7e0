// Forms the communicator of a local group (ranks on this host) and checks it with a sanity
// all-reduce whose result has a closed form. Transport "shm" (default: shared memory, for ranks
// on one host) or "gloo" (TCP; what ranks on different hosts use).
#ifndef TPSERVE_WORKER_GROUP_COMM_H_
#define TPSERVE_WORKER_GROUP_COMM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/comm/communicator.h"

namespace tpserve::worker {

inline constexpr char kDefaultLocalTransport[] = "shm";

absl::StatusOr<std::unique_ptr<comm::Communicator>> JoinLocalGroup(const std::string& store_dir,
                                                                   const std::string& transport,
                                                                   int rank, int tp_size,
                                                                   absl::Duration connect_timeout,
                                                                   absl::Duration collective_timeout);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GROUP_COMM_H_
