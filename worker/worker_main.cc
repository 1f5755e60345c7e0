// tpserve-worker: one rank of one model replica (see worker/worker.h). Flags → WorkerOptions,
// metrics registry + /metrics exposer, SIGTERM/SIGINT → a clean stop.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "worker/worker.h"
#include "worker/worker_flags.h"
#include "worker/worker_metrics.h"

namespace {

// The host:port to advertise for an exposer bound to `listen` on `port`.
std::string MetricsAddress(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  return absl::StrCat(tpserve::worker::AdvertisedHost(host), ":", port);
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<tpserve::worker::ParsedWorkerFlags> flags =
      tpserve::worker::ParseWorkerFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::fprintf(stderr, "tpserve-worker: %s\n\n%s", std::string(flags.status().message()).c_str(),
                 tpserve::worker::WorkerUsage().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(tpserve::worker::WorkerUsage().c_str(), stdout);
    return 0;
  }

  // Signals go to one watcher thread; every other thread (gRPC's included) has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto registry = std::make_shared<prometheus::Registry>();
  tpserve::worker::WorkerMetrics metrics(*registry);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(flags->metrics_listen);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tpserve-worker: cannot serve /metrics on %s: %s\n",
                 flags->metrics_listen.c_str(), e.what());
    return 1;
  }
  exposer->RegisterCollectable(registry);
  const std::vector<int> ports = exposer->GetListeningPorts();
  tpserve::worker::WorkerOptions options = flags->options;
  options.metrics_port = ports.empty() ? 0 : ports.front();
  options.metrics_address = MetricsAddress(flags->metrics_listen, options.metrics_port);

  tpserve::worker::Worker worker(options, &metrics);
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    timespec tick{0, 100 * 1000 * 1000};
    while (!done.load()) {
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        TPS_LOG(kInfo) << "signal " << sig << ": stopping (in-flight streams finish first)";
        worker.RequestStop();
      }
    }
  });
  const absl::Status status = worker.Run();
  done.store(true);
  watcher.join();
  if (!status.ok()) {
    std::fprintf(stderr, "tpserve-worker: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
