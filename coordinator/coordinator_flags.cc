#include "coordinator/coordinator_flags.h"

#include "ops/base/status_macros.h"
#include "proto/cluster_flags.h"

namespace tpserve::coordinator {
namespace {

constexpr StringFlag kListen = cluster::kListenFlag.WithDefault("0.0.0.0:50051");
constexpr StringFlag kMetricsListen = cluster::kMetricsListenFlag.WithDefault("0.0.0.0:9090");

const FlagList& Flags() {
  static const FlagList* const flags = new FlagList{kListen,
                                                    kClusterListenFlag,
                                                    kMetricsListen,
                                                    kCatalogueFlag,
                                                    kTlsCertFlag,
                                                    kTlsKeyFlag,
                                                    cluster::kClusterTlsCertFlag,
                                                    cluster::kClusterTlsKeyFlag,
                                                    cluster::kClusterTlsCaFlag,
                                                    kApiTokenFileFlag,
                                                    kApiTokenGraceFlag,
                                                    cluster::kJoinTokenFileFlag,
                                                    kHeartbeatIntervalMsFlag,
                                                    kMaxQueueFlag,
                                                    kMaxQueueWaitFlag,
                                                    cluster::kPortFileFlag};
  return *flags;
}

}  // namespace

std::string CoordinatorUsage() {
  return "usage: tpserve-coordinator [flags]\n"
         "\n"
         "The public chat API of a tpserve cluster: membership, placement, admission, routing,\n"
         "streaming and the workers' rendezvous store.\n"
         "\n" +
         FlagUsage(Flags());
}

std::string HostOf(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

absl::StatusOr<CoordinatorFlags> ParseCoordinatorFlags(const std::vector<std::string>& args) {
  TPS_ASSIGN_OR_RETURN(CommandLine cl, CommandLine::Parse(args, Flags()));
  CoordinatorFlags f;
  f.help = cl.help();
  if (f.help) return f;
  f.listen = cl.Get(kListen);
  f.cluster_listen = cl.Get(kClusterListenFlag);
  f.metrics_listen = cl.Get(kMetricsListen);
  TPS_RETURN_IF_ERROR(cluster::CheckListenAddress(kListen, f.listen));
  TPS_RETURN_IF_ERROR(cluster::CheckListenAddress(kClusterListenFlag, f.cluster_listen));
  TPS_RETURN_IF_ERROR(cluster::CheckListenAddress(kMetricsListen, f.metrics_listen));
  f.catalogue = cl.Get(kCatalogueFlag);
  f.tls_cert = cl.Get(kTlsCertFlag);
  f.tls_key = cl.Get(kTlsKeyFlag);
  f.cluster_tls_cert = cl.Get(cluster::kClusterTlsCertFlag);
  f.cluster_tls_key = cl.Get(cluster::kClusterTlsKeyFlag);
  f.cluster_tls_ca = cl.Get(cluster::kClusterTlsCaFlag);
  f.api_token_file = cl.Get(kApiTokenFileFlag);
  TPS_ASSIGN_OR_RETURN(f.api_token_grace_ms, cl.Get(kApiTokenGraceFlag));
  f.join_token_file = cl.Get(cluster::kJoinTokenFileFlag);
  TPS_ASSIGN_OR_RETURN(f.heartbeat_interval_ms, cl.Get(kHeartbeatIntervalMsFlag));
  TPS_ASSIGN_OR_RETURN(f.max_queue, cl.Get(kMaxQueueFlag));
  TPS_ASSIGN_OR_RETURN(f.max_queue_wait_ms, cl.Get(kMaxQueueWaitFlag));
  f.port_file = cl.Get(cluster::kPortFileFlag);
  TPS_RETURN_IF_ERROR(cluster::CheckTlsPair(kTlsCertFlag, f.tls_cert, kTlsKeyFlag, f.tls_key));
  TPS_RETURN_IF_ERROR(cluster::CheckTlsPair(cluster::kClusterTlsCertFlag, f.cluster_tls_cert,
                                            cluster::kClusterTlsKeyFlag, f.cluster_tls_key));
  return f;
}

}  // namespace tpserve::coordinator
