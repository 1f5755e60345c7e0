// absl::Status <-> grpc::Status: the only place the worker converts between them (the service
// edge: the Leader service's replies, and the replies of the coordinator's RPCs it calls).
// absl::StatusCode and grpc::StatusCode share the values 0..16 (google.rpc.Code).
#ifndef TPSERVE_WORKER_GRPC_STATUS_H_
#define TPSERVE_WORKER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tpserve::worker {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// `what` names the call ("Register"), prefixed to the message.
inline absl::Status FromGrpcStatus(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      what + ": " + s.error_message());
}

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GRPC_STATUS_H_
