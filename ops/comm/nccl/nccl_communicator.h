// The CUDA communicator: NCCL (shipped with the CUDA toolkit). Rank 0 creates the NCCL unique id
// and publishes it through the Store; every rank joins with ncclCommInitRank on its device.
// Collectives are enqueued on `stream`; the CPU side waits for them with a deadline (polling the
// stream and ncclCommGetAsyncError) and aborts the communicator when it passes, so a dead peer
// fails the step instead of hanging it.
#ifndef TPSERVE_OPS_COMM_NCCL_NCCL_COMMUNICATOR_H_
#define TPSERVE_OPS_COMM_NCCL_NCCL_COMMUNICATOR_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/store.h"
#include "ops/comm/communicator.h"

namespace tpserve::comm {

struct NcclOptions {
  int device_index = 0;
  void* stream = nullptr;  // a cudaStream_t; null = the default stream
  absl::Duration connect_timeout = absl::Seconds(120);
  absl::Duration collective_timeout = absl::Seconds(30);
};

// Number of CUDA devices usable here (0 without a driver or a GPU).
int CudaDeviceCount();

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(Store& store, int rank,
                                                                     int world_size,
                                                                     const NcclOptions& options);

}  // namespace tpserve::comm

#endif  // TPSERVE_OPS_COMM_NCCL_NCCL_COMMUNICATOR_H_
