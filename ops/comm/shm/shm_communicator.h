// The same-host CPU communicator: ranks on one machine exchange partial sums through a POSIX
// shared-memory segment instead of sockets. Loopback TCP (Gloo) costs 0.2-5 ms per small
// collective on a busy host because every message wakes an event-loop thread; here a decode
// step's all-reduce is a few memory copies and one spin barrier (~1-10 µs).
//
// Layout: a header (per-rank pid and arrival counter, an abort flag) and per rank two slots
// (double-buffered by collective parity, so one barrier per collective suffices: a rank can only
// overwrite a slot after every rank has arrived at the next collective, i.e. finished reading).
// Larger tensors go through in slot-sized chunks.
//
// Waiting spins briefly, then yields; it checks the deadline and whether every peer process is
// still alive, so a SIGKILLed peer fails the collective at once (Unavailable, naming its rank and
// pid) instead of after the timeout. Abort() sets the shared abort flag: every rank's current and
// later collectives fail.
#ifndef TPSERVE_OPS_COMM_SHM_SHM_COMMUNICATOR_H_
#define TPSERVE_OPS_COMM_SHM_SHM_COMMUNICATOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/store.h"
#include "ops/comm/communicator.h"

namespace tpserve::comm {

struct ShmOptions {
  size_t slot_bytes = 4u << 20;  // per rank and parity; larger tensors are chunked
  absl::Duration connect_timeout = absl::Seconds(60);
  absl::Duration collective_timeout = absl::Seconds(30);
};

// Rank 0 creates the segment and publishes its name through `store`; the others map it. All
// ranks must be processes (or threads) on this host.
absl::StatusOr<std::unique_ptr<Communicator>> CreateShmCommunicator(Store& store, int rank,
                                                                    int world_size,
                                                                    const ShmOptions& options);

}  // namespace tpserve::comm

#endif  // TPSERVE_OPS_COMM_SHM_SHM_COMMUNICATOR_H_
