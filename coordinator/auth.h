// Who may call the client API: its bearer token. (TLS credentials and the cluster's join token
// are in proto/cluster_credentials.h and proto/cluster_token.h, shared with the workers.)
//
// The bearer token is checked by the chat service itself at the start of every Chat and
// ListModels call (metadata "authorization: Bearer <token>"), so it holds with TLS and without;
// the health and reflection services stay open for probes and tooling. Tokens are compared in
// constant time.
#ifndef TPSERVE_COORDINATOR_AUTH_H_
#define TPSERVE_COORDINATOR_AUTH_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/string_ref.h"

namespace tpserve::coordinator {

// The client API's bearer-token check. An empty token disables it.
class BearerTokenCheck {
 public:
  explicit BearerTokenCheck(std::string token = "") : token_(std::move(token)) {}
  // Unauthenticated when the token is required and missing or wrong.
  absl::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;
  bool enabled() const { return !token_.empty(); }

 private:
  std::string token_;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_AUTH_H_
