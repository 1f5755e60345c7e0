// GrpcStore: the rendezvous Store (comm::Store) served by the coordinator over its cluster API
// (Coordinator.StoreSet / StoreWait). Groups of workers started independently meet through it:
// the leader publishes its control address, rank 0 of a communicator its shm segment or Gloo
// addresses.
//
// Set is retried while the coordinator is unreachable (UNAVAILABLE), up to `set_timeout`. Wait
// asks the coordinator in slices of at most `wait_slice` and keeps asking — also through a brief
// coordinator outage — until its own timeout, which then ends with DeadlineExceeded naming the key.
// Each call carries a deadline.
//
// Thread-safe (the gRPC stub is).
#ifndef TPSERVE_WORKER_GRPC_STORE_H_
#define TPSERVE_WORKER_GRPC_STORE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "ops/base/store.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"

namespace tpserve::worker {

struct GrpcStoreOptions {
  absl::Duration call_timeout = absl::Seconds(5);  // deadline of one StoreSet call
  absl::Duration set_timeout = absl::Seconds(30);  // Set retries while unreachable
  absl::Duration wait_slice = absl::Seconds(5);    // longest single StoreWait call
  absl::Duration max_backoff = absl::Milliseconds(500);
  std::string join_token;  // presented in every call (proto/cluster_token.h)
};

class GrpcStore final : public comm::Store {
 public:
  GrpcStore(std::shared_ptr<grpc::Channel> channel, const GrpcStoreOptions& options = {});

  absl::Status Set(std::string_view key, std::string_view value) override;
  absl::StatusOr<std::string> Wait(std::string_view key, absl::Duration timeout) override;

 private:
  std::unique_ptr<cluster::v1::Coordinator::Stub> stub_;
  GrpcStoreOptions options_;
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GRPC_STORE_H_
