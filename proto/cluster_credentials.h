// TLS credentials of the cluster API, from PEM files: the coordinator's cluster port and each
// worker's Leader service serve with a certificate and key (--cluster-tls-cert/--cluster-tls-key);
// whoever dials them verifies against a CA (--cluster-tls-ca). The client API uses the same
// server helper with its own flags (--tls-cert/--tls-key). The flags themselves, and reading a
// CA file they name, are proto/cluster_flags.h.
#ifndef TPSERVE_PROTO_CLUSTER_CREDENTIALS_H_
#define TPSERVE_PROTO_CLUSTER_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace tpserve::cluster {

// TLS with the PEM certificate chain and key in these files, or insecure when both paths are
// empty. InvalidArgument when only one is given; NotFound naming an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFromFiles(
    const std::string& cert_path, const std::string& key_path);

// TLS verifying the server against the PEM CA certificates in `ca_pem`; insecure when empty.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFromCa(const std::string& ca_pem);

}  // namespace tpserve::cluster

#endif  // TPSERVE_PROTO_CLUSTER_CREDENTIALS_H_
