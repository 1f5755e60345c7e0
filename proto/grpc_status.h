// The one place where absl::Status and grpc::Status meet: the service edge of the coordinator
// and of the workers (their servers' replies, and the replies of the RPCs they call). Inside the
// modules errors are absl::Status only.
//
// absl::StatusCode and grpc::StatusCode share the values 0..16 (google.rpc.Code), so the code is
// carried over as is; the message is kept.
#ifndef TPSERVE_PROTO_GRPC_STATUS_H_
#define TPSERVE_PROTO_GRPC_STATUS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tpserve {

// The message is capped at kMaxStatusMessageBytes (ops/base/echo.h).
grpc::Status ToGrpcStatus(const absl::Status& status);
// The reverse; a non-empty `what` names the call and prefixes the message ("Register: ...").
absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view what = "");

// "ok", "invalid_argument", "unavailable", ...: the code as a metric label value.
std::string StatusCodeLabel(absl::StatusCode code);

}  // namespace tpserve

#endif  // TPSERVE_PROTO_GRPC_STATUS_H_
