// The tpserve-coordinator command line (proto/README.md, "tpserve-coordinator flags"), parsed
// into a plain struct. Flags take "--name value" or "--name=value"; an unknown flag, a missing
// value or a malformed number is InvalidArgument naming the flag.
#ifndef TPSERVE_COORDINATOR_COORDINATOR_FLAGS_H_
#define TPSERVE_COORDINATOR_COORDINATOR_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tpserve::coordinator {

struct CoordinatorFlags {
  std::string listen = "0.0.0.0:50051";
  std::string cluster_listen = "0.0.0.0:50052";
  std::string metrics_listen = "0.0.0.0:9090";
  std::string catalogue;
  std::string tls_cert, tls_key;
  std::string cluster_tls_cert, cluster_tls_key;
  std::string cluster_tls_ca;  // verify the leaders' certificates; dial them over TLS
  std::string api_token_file;
  std::string join_token_file;
  int64_t heartbeat_interval_ms = 1000;
  int64_t max_queue = 64;
  std::string port_file;
  bool help = false;
};

// `args` excludes the program name.
absl::StatusOr<CoordinatorFlags> ParseCoordinatorFlags(const std::vector<std::string>& args);

// The usage text (--help).
std::string CoordinatorUsage();

// "HOST" of "HOST:PORT" ("[::1]:5" -> "[::1]").
std::string HostOf(const std::string& host_port);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_COORDINATOR_FLAGS_H_
