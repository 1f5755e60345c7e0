// Who may call: TLS credentials for the two gRPC ports, the client API's bearer token and the
// cluster's join token.
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

// True when a == b, in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The token in `path` with surrounding white space removed. NotFound / InvalidArgument (empty
// file) naming the path.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// TLS with the PEM certificate chain and key in these files, or insecure when both paths are
// empty. InvalidArgument when only one is given; NotFound naming an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFromFiles(
    const std::string& cert_path, const std::string& key_path);

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

// The cluster's join token, checked in Register. An empty expected token accepts any.
absl::Status CheckJoinToken(const std::string& expected, const std::string& presented);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_AUTH_H_
