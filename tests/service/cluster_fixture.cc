#include "tests/service/cluster_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_env.h"

namespace tpserve::testing {
namespace {

std::string Bin(const std::string& name) { return std::string(TPS_BIN_DIR) + "/" + name; }

absl::StatusOr<Subprocess> Spawn(const std::string& binary, const std::vector<std::string>& args,
                                 const std::string& log) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return Subprocess::Exec(argv, {.out = Redirect::File(log), .err = Redirect::File(log)});
}

absl::StatusOr<nlohmann::json> WaitForJson(const std::string& path, Subprocess& process,
                                           absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::ifstream in(path);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
      if (!j.is_discarded() && j.is_object()) return j;
    }
    if (!process.Running()) {
      return absl::UnavailableError(absl::StrCat("process ", process.pid(), " ",
                                                 process.DescribeExit(), " before writing ", path));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("no ", path));
}

}  // namespace

const std::string& TinyModelDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(MakeTempDir() + "/tiny");
    const std::string cmd = absl::StrCat(
        Bin("tpserve"), " make-random-model --preset tiny --seed 3 --out ", *d, " >/dev/null 2>&1");
    if (std::system(cmd.c_str()) != 0) std::abort();
    return d;
  }();
  return *dir;
}

absl::StatusOr<std::string> RunTpserve(const std::string& args) {
  std::string out;
  FILE* p = popen(absl::StrCat(Bin("tpserve"), " ", args, " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return absl::InternalError("popen failed");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  if (status != 0) return absl::InternalError(absl::StrCat("tpserve ", args, " exited ", status));
  return out;
}

ProcessResult RunBinary(const std::string& binary, const std::string& args, int timeout_s) {
  ProcessResult r;
  FILE* p =
      popen(absl::StrCat("timeout ", timeout_s, " ", Bin(binary), " ", args, " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

absl::StatusOr<std::string> ScrapeMetrics(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError("bad address " + address);
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError("cannot connect to " + address);
  }
  const std::string req = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return absl::UnavailableError("write failed");
  }
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t body = resp.find("\r\n\r\n");
  if (body == std::string::npos) return absl::InternalError("no HTTP body from " + address);
  return resp.substr(body + 4);
}

absl::StatusOr<double> MetricValue(const std::string& exposition, const std::string& name,
                                   const std::vector<std::string>& labels) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    if (!absl::StartsWith(line, name)) continue;
    const absl::string_view rest = line.substr(name.size());
    if (!rest.empty() && rest[0] != '{' && rest[0] != ' ') continue;
    bool all = true;
    for (const std::string& l : labels) all = all && absl::StrContains(line, l);
    if (!all) continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    if (absl::SimpleAtod(line.substr(space + 1), &v)) return v;
  }
  return absl::NotFoundError(absl::StrCat("no sample of ", name));
}

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(const ClusterOptions& options) {
  std::unique_ptr<Cluster> c(new Cluster(options));
  c->dir_ = MakeTempDir();
  (void)TinyModelDir();
  if (absl::Status s = c->StartCoordinator(0, 0, 0); !s.ok()) return s;
  for (int r = 0; r < options.replicas; ++r) {
    for (int k = 0; k < options.tp; ++k) {
      if (absl::Status s = c->StartWorker(r, k); !s.ok()) return s;
    }
  }
  return c;
}

absl::Status Cluster::StartCoordinator(int client_port, int cluster_port, int metrics_port) {
  const std::string ports = dir_ + "/coordinator.ports";
  std::remove(ports.c_str());
  std::vector<std::string> args = {"--listen",
                                   absl::StrCat("127.0.0.1:", client_port),
                                   "--cluster-listen",
                                   absl::StrCat("127.0.0.1:", cluster_port),
                                   "--metrics-listen",
                                   absl::StrCat("127.0.0.1:", metrics_port),
                                   "--heartbeat-interval-ms",
                                   "200",
                                   "--port-file",
                                   ports};
  args.insert(args.end(), options_.coordinator_args.begin(), options_.coordinator_args.end());
  absl::StatusOr<Subprocess> p = Spawn(Bin("tpserve-coordinator"), args, dir_ + "/coordinator.log");
  if (!p.ok()) return p.status();
  coordinator_ = std::move(*p);
  absl::StatusOr<nlohmann::json> j = WaitForJson(ports, *coordinator_, absl::Seconds(30));
  if (!j.ok()) return j.status();
  client_port_ = j->value("client", 0);
  cluster_port_ = j->value("cluster", 0);
  metrics_port_ = j->value("metrics", 0);
  return absl::OkStatus();
}

absl::Status Cluster::StartWorker(int replica, int rank) {
  const std::string ports = absl::StrCat(dir_, "/worker-", replica, "-", rank, ".ports");
  std::remove(ports.c_str());
  std::vector<std::string> args = {"--coordinator", cluster_address(),
                                   "--model",       TinyModelDir(),
                                   "--model-name",  options_.model_name,
                                   "--group",       absl::StrCat("g", replica),
                                   "--rank",        std::to_string(rank),
                                   "--world-size",  std::to_string(options_.tp),
                                   "--threads",     std::to_string(options_.threads),
                                   "--max-slots",   std::to_string(options_.max_slots),
                                   "--max-context", "1024",
                                   "--port-file",   ports};
  args.insert(args.end(), options_.worker_args.begin(), options_.worker_args.end());
  absl::StatusOr<Subprocess> p = Spawn(Bin("tpserve-worker"), args,
                                       absl::StrCat(dir_, "/worker-", replica, "-", rank, ".log"));
  if (!p.ok()) return p.status();
  workers_.erase({replica, rank});
  Subprocess& worker = workers_.emplace(std::make_pair(replica, rank), std::move(*p)).first->second;
  absl::StatusOr<nlohmann::json> j = WaitForJson(ports, worker, absl::Seconds(30));
  if (!j.ok()) return j.status();
  worker_metrics_ports_[{replica, rank}] = j->value("metrics", 0);
  worker_grpc_ports_[{replica, rank}] = j->value("grpc", 0);
  return absl::OkStatus();
}

std::string Cluster::worker_metrics(int replica, int rank) const {
  return absl::StrCat("127.0.0.1:", worker_metrics_ports_.at({replica, rank}));
}

pid_t Cluster::worker_pid(int replica, int rank) const {
  auto it = workers_.find({replica, rank});
  return it == workers_.end() ? -1 : it->second.pid();
}

std::string Cluster::worker_address(int replica, int rank) const {
  return absl::StrCat("127.0.0.1:", worker_grpc_ports_.at({replica, rank}));
}

absl::Status Cluster::WaitReady(int ready, absl::Duration timeout) {
  std::unique_ptr<cli::ChatClient> client = Client();
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::ListModelsResponse> models = client->ListModels();
    if (models.ok()) {
      for (const auto& m : models->models()) {
        if (m.name() == options_.model_name && m.ready_replicas() >= ready) return absl::OkStatus();
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(ready, " ready replicas not reached; logs in ", dir_));
}

std::unique_ptr<cli::ChatClient> Cluster::Client(const std::string& token) const {
  cli::ClientOptions o;
  o.address = client_address();
  o.token = token.empty() ? options_.client_token : token;
  o.tls_ca_file = options_.client_tls_ca;
  return std::move(cli::ChatClient::Connect(o)).value();
}

absl::Status Cluster::RestartCoordinator() {
  coordinator_.reset();  // SIGKILL and reap
  return StartCoordinator(client_port_, cluster_port_, metrics_port_);
}

void Cluster::KillWorker(int replica, int rank) { workers_.erase({replica, rank}); }

// Every process is SIGKILLed and reaped by its Subprocess.
Cluster::~Cluster() = default;

}  // namespace tpserve::testing
