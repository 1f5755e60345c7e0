// A real cluster for end-to-end tests: a tpserve-coordinator process and worker processes
// (tpserve-worker), started from the build's bin directory on loopback ports, on a tiny
// random-weight model with the real Qwen3.5 vocabulary (made once per test binary).
#ifndef TPSERVE_TESTS_SERVICE_CLUSTER_FIXTURE_H_
#define TPSERVE_TESTS_SERVICE_CLUSTER_FIXTURE_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ops/base/subprocess.h"
#include "tools/cli/chat_client.h"

namespace tpserve::testing {

// The tiny model directory (config, weights, tokenizer, generation config), created on first use.
const std::string& TinyModelDir();

// Runs `tpserve <args>`; returns stdout (exit status must be 0).
absl::StatusOr<std::string> RunTpserve(const std::string& args);

// Runs build/bin/`binary` with `args` (one shell-quoted string) to its end, killed after
// `timeout_s` (exit code 124 then); what it printed on stdout and stderr.
struct ProcessResult {
  int exit_code = -1;
  std::string output;
};
ProcessResult RunBinary(const std::string& binary, const std::string& args, int timeout_s);

// GET http://address/metrics.
absl::StatusOr<std::string> ScrapeMetrics(const std::string& address);
// The value of the first sample of `name` whose labels contain every `label="value"` given, or
// an error when absent.
absl::StatusOr<double> MetricValue(const std::string& exposition, const std::string& name,
                                   const std::vector<std::string>& labels = {});

struct ClusterOptions {
  int tp = 1;
  int replicas = 1;
  int threads = 1;
  int max_slots = 8;
  std::string model_name = "tiny";
  std::vector<std::string> coordinator_args;  // extra flags
  std::vector<std::string> worker_args;
  // The client API as Client() and WaitReady() call it: TLS verified with this CA file (empty:
  // plaintext) and this bearer token (empty: none).
  std::string client_tls_ca;
  std::string client_token;
};

class Cluster {
 public:
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(const ClusterOptions& options);
  ~Cluster();

  std::string client_address() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::string cluster_address() const { return "127.0.0.1:" + std::to_string(cluster_port_); }
  std::string coordinator_metrics() const { return "127.0.0.1:" + std::to_string(metrics_port_); }
  // Metrics address of worker (replica, rank).
  std::string worker_metrics(int replica, int rank) const;
  pid_t worker_pid(int replica, int rank) const;
  pid_t coordinator_pid() const { return coordinator_.has_value() ? coordinator_->pid() : -1; }
  // gRPC address (the Leader service) of worker (replica, rank).
  std::string worker_address(int replica, int rank) const;
  // Where the processes' logs are.
  const std::string& log_dir() const { return dir_; }
  const ClusterOptions& options() const { return options_; }

  // Waits until ListModels reports `ready` ready replicas.
  absl::Status WaitReady(int ready, absl::Duration timeout = absl::Seconds(60));
  // `token` empty: options().client_token.
  std::unique_ptr<cli::ChatClient> Client(const std::string& token = "") const;

  // Kills the coordinator (SIGKILL) and starts a new one on the same ports.
  absl::Status RestartCoordinator();
  // SIGKILL and reap.
  void KillWorker(int replica, int rank);

 private:
  explicit Cluster(const ClusterOptions& options) : options_(options) {}
  absl::Status StartCoordinator(int client_port, int cluster_port, int metrics_port);
  absl::Status StartWorker(int replica, int rank);

  ClusterOptions options_;
  std::string dir_;
  std::optional<Subprocess> coordinator_;
  int client_port_ = 0, cluster_port_ = 0, metrics_port_ = 0;
  std::map<std::pair<int, int>, Subprocess> workers_;
  std::map<std::pair<int, int>, int> worker_metrics_ports_;
  std::map<std::pair<int, int>, int> worker_grpc_ports_;
};

}  // namespace tpserve::testing

#endif  // TPSERVE_TESTS_SERVICE_CLUSTER_FIXTURE_H_
