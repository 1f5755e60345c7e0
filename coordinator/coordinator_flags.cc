#include "coordinator/coordinator_flags.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tpserve::coordinator {

std::string CoordinatorUsage() {
  return "usage: tpserve-coordinator [flags]\n"
         "  --listen HOST:PORT            client API (default 0.0.0.0:50051; port 0 = any)\n"
         "  --cluster-listen HOST:PORT    cluster API for workers (default 0.0.0.0:50052)\n"
         "  --metrics-listen HOST:PORT    Prometheus /metrics (default 0.0.0.0:9090)\n"
         "  --catalogue FILE              JSON model catalogue for placing unassigned workers\n"
         "  --tls-cert FILE --tls-key FILE                 TLS on the client API\n"
         "  --cluster-tls-cert FILE --cluster-tls-key FILE TLS on the cluster API\n"
         "  --cluster-tls-ca FILE         dial the group leaders over TLS, verifying them with\n"
         "                                this CA (their --cluster-tls-cert)\n"
         "  --api-token-file FILE         clients must send \"authorization: Bearer <token>\"\n"
         "  --join-token-file FILE        the cluster's shared secret: workers present it on "
         "every\n"
         "                                call, this coordinator presents it to leaders\n"
         "  --heartbeat-interval-ms N     default 1000; lease = 2 x interval\n"
         "  --max-queue N                 waiting requests per model before RESOURCE_EXHAUSTED "
         "(default 64)\n"
         "  --port-file FILE              write {\"client\":P,\"cluster\":P,\"metrics\":P} once "
         "listening\n";
}

std::string HostOf(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

absl::StatusOr<CoordinatorFlags> ParseCoordinatorFlags(const std::vector<std::string>& args) {
  CoordinatorFlags f;
  const std::map<std::string, std::string*> strings = {
      {"listen", &f.listen},
      {"cluster-listen", &f.cluster_listen},
      {"metrics-listen", &f.metrics_listen},
      {"catalogue", &f.catalogue},
      {"tls-cert", &f.tls_cert},
      {"tls-key", &f.tls_key},
      {"cluster-tls-cert", &f.cluster_tls_cert},
      {"cluster-tls-key", &f.cluster_tls_key},
      {"cluster-tls-ca", &f.cluster_tls_ca},
      {"api-token-file", &f.api_token_file},
      {"join-token-file", &f.join_token_file},
      {"port-file", &f.port_file},
  };
  const std::map<std::string, int64_t*> numbers = {
      {"heartbeat-interval-ms", &f.heartbeat_interval_ms},
      {"max-queue", &f.max_queue},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      f.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto s = strings.find(name);
    auto n = numbers.find(name);
    if (s == strings.end() && n == numbers.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, ": missing value"));
      }
      value = args[++i];
    }
    if (s != strings.end()) {
      *s->second = value;
    } else if (!absl::SimpleAtoi(value, n->second)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": expected an integer, got '", value, "'"));
    }
  }
  if (f.heartbeat_interval_ms <= 0) {
    return absl::InvalidArgumentError("--heartbeat-interval-ms: must be > 0");
  }
  if (f.max_queue < 0) return absl::InvalidArgumentError("--max-queue: must be >= 0");
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (f.cluster_tls_cert.empty() != f.cluster_tls_key.empty()) {
    return absl::InvalidArgumentError("--cluster-tls-cert and --cluster-tls-key go together");
  }
  return f;
}

}  // namespace tpserve::coordinator
