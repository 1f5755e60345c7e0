// tpserve-coordinator: flags -> CoordinatorOptions -> Coordinator::Start -> serve until SIGTERM
// or SIGINT -> Shutdown. Prints one line once listening:
//   tpserve-coordinator listening: client=HOST:PORT cluster=HOST:PORT metrics=HOST:PORT
// and writes --port-file as {"client":P,"cluster":P,"metrics":P}. Exit codes: 0 after a clean
// shutdown, 2 for bad flags, 1 when it cannot start.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "coordinator/catalogue.h"
#include "coordinator/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_flags.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/image_token_counter.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "proto/cluster_credentials.h"
#include "proto/cluster_flags.h"

namespace tpserve::coordinator {
namespace {

absl::Status WritePortFile(const std::string& path, int client, int cluster, int metrics) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"client\":" << client << ",\"cluster\":" << cluster << ",\"metrics\":" << metrics
        << "}\n";
    if (!out) return absl::UnavailableError(absl::StrCat("--port-file: cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("--port-file: cannot write ", path));
  return absl::OkStatus();
}

// Reads the files the flags name; errors are InvalidArgument naming the flag.
absl::StatusOr<CoordinatorOptions> OptionsFromFlags(const CoordinatorFlags& f) {
  CoordinatorOptions o;
  o.listen = f.listen;
  o.cluster_listen = f.cluster_listen;
  TPS_RETURN_IF_ERROR(cluster::CheckTlsFiles(kTlsCertFlag, f.tls_cert, kTlsKeyFlag, f.tls_key));
  TPS_RETURN_IF_ERROR(cluster::CheckTlsFiles(cluster::kClusterTlsCertFlag, f.cluster_tls_cert,
                                             cluster::kClusterTlsKeyFlag, f.cluster_tls_key));
  TPS_ASSIGN_OR_RETURN(o.client_credentials,
                       cluster::ServerCredentialsFromFiles(f.tls_cert, f.tls_key));
  TPS_ASSIGN_OR_RETURN(o.cluster_credentials,
                       cluster::ServerCredentialsFromFiles(f.cluster_tls_cert, f.cluster_tls_key));
  if (!f.cluster_tls_ca.empty()) {
    TPS_ASSIGN_OR_RETURN(std::string ca,
                         cluster::ReadPemFlagFile(cluster::kClusterTlsCaFlag, f.cluster_tls_ca));
    o.leader_credentials = cluster::ChannelCredentialsFromCa(ca);
  }
  if (!f.api_token_file.empty()) {
    TPS_ASSIGN_OR_RETURN(o.api_token,
                         cluster::ReadTokenFlagFile(kApiTokenFileFlag, f.api_token_file));
    o.api_token_file = f.api_token_file;
    o.api_token_grace = absl::Milliseconds(f.api_token_grace_ms);
  }
  if (!f.join_token_file.empty()) {
    TPS_ASSIGN_OR_RETURN(
        o.join_token, cluster::ReadTokenFlagFile(cluster::kJoinTokenFileFlag, f.join_token_file));
  }
  o.heartbeat_interval = absl::Milliseconds(f.heartbeat_interval_ms);
  o.max_queue = static_cast<int>(f.max_queue);
  o.max_queue_wait =
      f.max_queue_wait_ms == 0 ? absl::InfiniteDuration() : absl::Milliseconds(f.max_queue_wait_ms);
  return o;
}

int Run(const std::vector<std::string>& args) {
  // Every thread started from here on (gRPC's, civetweb's) inherits the mask, so the signals
  // reach only the sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<CoordinatorFlags> flags = ParseCoordinatorFlags(args);
  if (!flags.ok()) {
    std::fprintf(stderr, "tpserve-coordinator: %s\n",
                 std::string(flags.status().message()).c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(CoordinatorUsage().c_str(), stdout);
    return 0;
  }
  absl::StatusOr<CoordinatorOptions> options = OptionsFromFlags(*flags);
  if (!options.ok()) {
    std::fprintf(stderr, "tpserve-coordinator: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<Catalogue> catalogue = std::make_unique<Catalogue>();
  if (!flags->catalogue.empty()) {
    absl::StatusOr<std::unique_ptr<Catalogue>> loaded = Catalogue::FromFile(flags->catalogue);
    if (!loaded.ok()) {
      std::fprintf(stderr, "tpserve-coordinator: --catalogue: %s\n",
                   std::string(loaded.status().message()).c_str());
      return 2;
    }
    catalogue = *std::move(loaded);
  }

  auto registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;
  try {  // civetweb reports a port it cannot bind by throwing
    exposer = std::make_unique<prometheus::Exposer>(flags->metrics_listen);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tpserve-coordinator: cannot listen on %s (--metrics-listen): %s\n",
                 flags->metrics_listen.c_str(), e.what());
    return 1;
  }
  exposer->RegisterCollectable(registry);
  const std::vector<int> metrics_ports = exposer->GetListeningPorts();
  const int metrics_port = metrics_ports.empty() ? 0 : metrics_ports.front();
  CoordinatorMetrics metrics(*registry);
  SystemClock clock;
  VisionImageTokenCounter image_counter;

  absl::StatusOr<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Start(*options, std::move(catalogue), metrics, clock, &image_counter);
  if (!coordinator.ok()) {
    std::fprintf(stderr, "tpserve-coordinator: %s\n",
                 std::string(coordinator.status().message()).c_str());
    return 1;
  }
  std::printf("tpserve-coordinator listening: client=%s:%d cluster=%s:%d metrics=%s:%d\n",
              HostOf(flags->listen).c_str(), (*coordinator)->client_port(),
              HostOf(flags->cluster_listen).c_str(), (*coordinator)->cluster_port(),
              HostOf(flags->metrics_listen).c_str(), metrics_port);
  std::fflush(stdout);
  if (!flags->port_file.empty()) {
    absl::Status written = WritePortFile(flags->port_file, (*coordinator)->client_port(),
                                         (*coordinator)->cluster_port(), metrics_port);
    if (!written.ok()) {
      std::fprintf(stderr, "tpserve-coordinator: %s\n", std::string(written.message()).c_str());
      return 1;
    }
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  TPS_LOG(kInfo) << "signal " << signal_number << ": shutting down";
  (*coordinator)->Shutdown();
  coordinator->reset();
  return 0;
}

}  // namespace
}  // namespace tpserve::coordinator

int main(int argc, char** argv) {
  return tpserve::coordinator::Run(std::vector<std::string>(argv + 1, argv + argc));
}
