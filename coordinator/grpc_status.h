// The one place where absl::Status and grpc::Status meet (the service edge).
#ifndef TPSERVE_COORDINATOR_GRPC_STATUS_H_
#define TPSERVE_COORDINATOR_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tpserve::coordinator {

// absl::StatusCode and grpc::StatusCode share the values 0..16 (google.rpc.Code), so the code is
// carried over as is; the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);
// The reverse, for statuses that come back from a leader's Generate stream.
absl::Status FromGrpcStatus(const grpc::Status& status);

// "ok", "invalid_argument", "unavailable", ...: the code as a metric label value.
std::string StatusCodeLabel(absl::StatusCode code);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_GRPC_STATUS_H_
