// The flags tpserve-coordinator and tpserve-worker both take (and `tpserve up` passes on), each
// defined once: name, value, help line and bounds. A binary whose default differs (the listen
// addresses) says so with WithDefault; everything else about the flag stays here. The helpers read
// and check their values the same way in both binaries; their errors are InvalidArgument naming
// the flag. Only tpserve_base and tpserve_cluster_token are linked: no device code, no gRPC.
#ifndef TPSERVE_PROTO_CLUSTER_FLAGS_H_
#define TPSERVE_PROTO_CLUSTER_FLAGS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ops/base/flags.h"

namespace tpserve::cluster {

inline constexpr StringFlag kListenFlag{
    .name = "listen",
    .value_name = "HOST:PORT",
    .help =
        "the gRPC address to serve on (the coordinator: its client API; a worker: its "
        "Leader API); port 0 = any free port"};
inline constexpr StringFlag kMetricsListenFlag{
    .name = "metrics-listen",
    .value_name = "HOST:PORT",
    .help = "Prometheus /metrics; port 0 = any free port"};
inline constexpr StringFlag kPortFileFlag{
    .name = "port-file",
    .value_name = "FILE",
    .help =
        "once listening, write the bound ports as one JSON object (the coordinator: "
        "{\"client\":P,\"cluster\":P,\"metrics\":P}; a worker: {\"grpc\":P,\"metrics\":P})"};
inline constexpr StringFlag kJoinTokenFileFlag{
    .name = "join-token-file",
    .value_name = "FILE",
    .help =
        "the cluster's shared secret (surrounding white space stripped): workers present it "
        "on every call to the coordinator, the coordinator in every Generate call to a "
        "leader, followers to their leader (proto/cluster_token.h)"};
inline constexpr StringFlag kClusterTlsCaFlag{
    .name = "cluster-tls-ca",
    .value_name = "FILE",
    .help =
        "dial the other side of the cluster API over TLS, verifying it with this PEM CA (the "
        "coordinator: the leaders' --cluster-tls-cert; a worker: the coordinator's)"};
inline constexpr StringFlag kClusterTlsCertFlag{
    .name = "cluster-tls-cert",
    .value_name = "FILE",
    .help =
        "serve the cluster API over TLS with this PEM certificate chain (the coordinator: "
        "its cluster port; a worker: its Leader API); goes with --cluster-tls-key"};
inline constexpr StringFlag kClusterTlsKeyFlag{.name = "cluster-tls-key",
                                               .value_name = "FILE",
                                               .help = "the PEM private key of --cluster-tls-cert"};

// The highest TCP port.
inline constexpr int kMaxPort = 65535;

// OK when `address` is HOST:PORT (HOST may be empty or "[v6]") with a port in [0, kMaxPort].
absl::Status CheckListenAddress(const StringFlag& flag, std::string_view address);

// The token in the file `path` (cluster::ReadTokenFile: white space stripped, not empty).
absl::StatusOr<std::string> ReadTokenFlagFile(const StringFlag& flag, const std::string& path);

// The contents of the PEM file `path`, which must be readable and not empty.
absl::StatusOr<std::string> ReadPemFlagFile(const StringFlag& flag, const std::string& path);

// A certificate chain and its key, given as two flags: both or neither. CheckTlsPair looks at the
// paths only; CheckTlsFiles also reads both files (ReadPemFlagFile).
absl::Status CheckTlsPair(const StringFlag& cert_flag, const std::string& cert_path,
                          const StringFlag& key_flag, const std::string& key_path);
absl::Status CheckTlsFiles(const StringFlag& cert_flag, const std::string& cert_path,
                           const StringFlag& key_flag, const std::string& key_path);

}  // namespace tpserve::cluster

#endif  // TPSERVE_PROTO_CLUSTER_FLAGS_H_
