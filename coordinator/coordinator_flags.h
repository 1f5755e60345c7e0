// The tpserve-coordinator command line (proto/README.md, "tpserve-coordinator flags"), parsed
// into a plain struct by the generic parser (ops/base/flags.h): "--name value" or "--name=value";
// an unknown flag, a missing value, a malformed number or one out of bounds is InvalidArgument
// naming the flag. The flags the workers take too are defined in proto/cluster_flags.h; the
// coordinator's own below (`tpserve up` passes some of them on).
#ifndef TPSERVE_COORDINATOR_COORDINATOR_FLAGS_H_
#define TPSERVE_COORDINATOR_COORDINATOR_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/base/flags.h"

namespace tpserve::coordinator {

inline constexpr StringFlag kClusterListenFlag{.name = "cluster-listen",
                                               .value_name = "HOST:PORT",
                                               .help = "the cluster API the workers call",
                                               .default_value = "0.0.0.0:50052"};
inline constexpr StringFlag kCatalogueFlag{
    .name = "catalogue",
    .value_name = "FILE",
    .help = "JSON model catalogue for placing the workers that come without an assignment"};
inline constexpr StringFlag kTlsCertFlag{
    .name = "tls-cert",
    .value_name = "FILE",
    .help = "serve the client API over TLS with this PEM certificate chain; goes with --tls-key"};
inline constexpr StringFlag kTlsKeyFlag{
    .name = "tls-key", .value_name = "FILE", .help = "the PEM private key of --tls-cert"};
inline constexpr StringFlag kApiTokenFileFlag{
    .name = "api-token-file",
    .value_name = "FILE",
    .help = "clients must send \"authorization: Bearer <token>\" with the token in FILE"};
inline constexpr IntFlag kApiTokenGraceFlag{
    .name = "api-token-grace-ms",
    .value_name = "MS",
    .help =
        "when --api-token-file changes (it is re-read, no restart), the replaced token is "
        "still accepted this long",
    .default_value = 300000,
    .min = 0,
    .max = 7LL * 24 * 3600 * 1000};
inline constexpr IntFlag kHeartbeatIntervalMsFlag{
    .name = "heartbeat-interval-ms",
    .value_name = "MS",
    .help = "how often workers heartbeat; a worker's lease is 2 intervals (out of routing after)",
    .default_value = 1000,
    .min = 1,
    .max = 3600 * 1000};
inline constexpr IntFlag kMaxQueueFlag{
    .name = "max-queue",
    .value_name = "N",
    .help = "waiting requests per model before RESOURCE_EXHAUSTED",
    .default_value = 64,
    .min = 0,
    .max = 1 << 20};
inline constexpr IntFlag kMaxQueueWaitFlag{
    .name = "max-queue-wait-ms",
    .value_name = "MS",
    .help =
        "longest wait for a replica slot before RESOURCE_EXHAUSTED (and the bound the "
        "expected wait is checked against at admission); 0: the client's deadline only",
    .default_value = 60000,
    .min = 0,
    .max = 24LL * 3600 * 1000};

struct CoordinatorFlags {
  std::string listen = "0.0.0.0:50051";
  std::string cluster_listen = "0.0.0.0:50052";
  std::string metrics_listen = "0.0.0.0:9090";
  std::string catalogue;
  std::string tls_cert, tls_key;
  std::string cluster_tls_cert, cluster_tls_key;
  std::string cluster_tls_ca;  // verify the leaders' certificates; dial them over TLS
  std::string api_token_file;
  int64_t api_token_grace_ms = 300000;
  std::string join_token_file;
  int64_t heartbeat_interval_ms = 1000;
  int64_t max_queue = 64;
  int64_t max_queue_wait_ms = 60000;
  std::string port_file;
  bool help = false;
};

// `args` excludes the program name. Files are not read here (OptionsFromFlags in main does).
absl::StatusOr<CoordinatorFlags> ParseCoordinatorFlags(const std::vector<std::string>& args);

// The usage text (--help).
std::string CoordinatorUsage();

// "HOST" of "HOST:PORT" ("[::1]:5" -> "[::1]").
std::string HostOf(const std::string& host_port);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_COORDINATOR_FLAGS_H_
