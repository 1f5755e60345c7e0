// tpserve up: a whole cluster on this host — one tpserve-coordinator and R groups of N
// tpserve-worker ranks (CPU) — in the foreground until Ctrl-C.
//
// Supervision: every rank of every group is its own tpserve-worker process started here (service
// mode has no `tpserve worker-rank` children: those are LocalGroup's, for generate/bench --tp), so
// this process is the one that restarts a dead rank, leader or follower, through a Supervisor
// (tools/cli/supervisor.h: exponential backoff, --max-restarts in a row). The group re-forms by
// itself once the rank is back: the leader waits for its followers again, followers re-join a
// restarted leader (worker/README.md), and a restarted rank registers once the dead one's lease
// has lapsed. A dead coordinator is restarted on the ports its first run bound, so the workers'
// heartbeats reach it and they register again (worker/registration.h: `known: false`). The
// cluster stops when the coordinator is given up, or when no replica has all its ranks left.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coordinator/coordinator_flags.h"
#include "model/model_spec.h"
#include "nlohmann/json.hpp"
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "ops/base/subprocess.h"
#include "proto/cluster_flags.h"
#include "tools/cli/chat_client.h"
#include "tools/cli/commands.h"
#include "tools/cli/default_model.h"
#include "tools/cli/supervisor.h"
#include "worker/rank_flags.h"

namespace tpserve::cli {
namespace {

namespace fs = std::filesystem;

constexpr StringFlag kUpModelFlag = worker::kModelFlag.WithDefault(
    "",
    "Qwen/Qwen3.5-0.8B from the local Hugging Face cache or the hub; else a random-weight "
    "stand-in of its shape, whose replies are noise");
constexpr IntFlag kReplicasFlag{.name = "replicas",
                                .value_name = "R",
                                .help = "replicas",
                                .default_value = 1,
                                .min = 1,
                                .max = 64};
constexpr IntFlag kPortFlag{.name = "port",
                            .value_name = "P",
                            .help = "chat API port; 0 = any free port",
                            .default_value = 50051,
                            .min = 0,
                            .max = cluster::kMaxPort};
// Computed when not given: the cores shared out among all ranks.
constexpr IntFlag kUpThreadsFlag =
    worker::kThreadsFlag.WithDefault(1, "cores / (--tp x --replicas), at least 1");
constexpr StringFlag kRandomPresetFlag{.name = "random-preset",
                                       .value_name = "P",
                                       .help = "shape of the random stand-in (tiny for tests)",
                                       .default_value = "0.8b"};
constexpr StringFlag kReadyFileFlag{
    .name = "ready-file",
    .value_name = "FILE",
    .help = "write {\"address\":...,\"model\":...} once every replica is ready"};
constexpr StringFlag kLogDirFlag{.name = "log-dir",
                                 .value_name = "DIR",
                                 .help = "process logs",
                                 .default_note = "a fresh temporary directory"};
constexpr IntFlag kStartupTimeoutSFlag{.name = "startup-timeout-s",
                                       .value_name = "S",
                                       .help = "how long the replicas may take to get ready",
                                       .default_value = 600,
                                       .min = 1,
                                       .max = 24 * 3600};
// RestartPolicy's defaults (its max_backoff, 10 s, and stable_after, 30 s, have no flag).
constexpr IntFlag kMaxRestartsFlag{
    .name = "max-restarts",
    .value_name = "N",
    .help = "restarts of a process that keeps dying (runs under 30 s) before it is given up",
    .default_value = RestartPolicy().max_restarts,
    .min = 0,
    .max = 1000};
constexpr IntFlag kRestartBackoffMsFlag{
    .name = "restart-backoff-ms",
    .value_name = "MS",
    .help = "wait before the first restart; doubles with each failure in a row, up to 10 s",
    .default_value = 500,
    .min = 1,
    .max = 60 * 1000};

const FlagList& Flags() {
  static const FlagList* const flags = new FlagList{kUpModelFlag,
                                                    worker::kModelNameFlag,
                                                    worker::kTpFlag,
                                                    kReplicasFlag,
                                                    kPortFlag,
                                                    kUpThreadsFlag,
                                                    worker::kMaxSlotsFlag,
                                                    worker::kMaxContextFlag,
                                                    worker::kTransportFlag,
                                                    worker::kVisionParallelismFlag,
                                                    kRandomPresetFlag,
                                                    kReadyFileFlag,
                                                    kLogDirFlag,
                                                    coordinator::kApiTokenFileFlag,
                                                    cluster::kJoinTokenFileFlag,
                                                    kStartupTimeoutSFlag,
                                                    kMaxRestartsFlag,
                                                    kRestartBackoffMsFlag};
  return *flags;
}

std::string UpHelp() {
  return "usage: tpserve up [--model DIR] [--tp N] [--replicas R] [flags]\n"
         "Starts a coordinator and R groups of N CPU worker ranks on this host, waits until every\n"
         "replica is ready, prints the chat address and serves until Ctrl-C. The worker flags\n"
         "are passed on to every rank; the token files to the coordinator (and the workers).\n"
         "A process that dies is restarted (the coordinator on the same ports) after a backoff;\n"
         "one that keeps dying is given up after --max-restarts restarts in a row.\n"
         "\n" +
         FlagUsage(Flags());
}

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

// The directory holding tpserve-coordinator and tpserve-worker: next to this binary.
std::string BinDir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return self.parent_path().string();
}

// A binary that cannot be executed (Subprocess::Exec: FailedPrecondition) is most likely unbuilt.
absl::Status NotBuilt(const absl::Status& s) {
  if (!absl::IsFailedPrecondition(s)) return s;
  return Annotate(s, "build the binaries first (scripts/build.sh)");
}

// The JSON object in `path`, once it has been written whole.
std::optional<nlohmann::json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// Which processes make up the cluster, and whether it can still serve.
struct Members {
  int coordinator = -1;
  std::vector<int> replica_of;  // by supervisor id; -1: the coordinator
  int64_t replicas = 0;

  // Replicas none of whose ranks has been given up on.
  int64_t Whole(const Supervisor& s) const {
    std::vector<bool> lost(static_cast<size_t>(replicas), false);
    for (int id = 0; id < s.size(); ++id) {
      if (replica_of[id] >= 0 && s.gave_up(id)) lost[static_cast<size_t>(replica_of[id])] = true;
    }
    return std::count(lost.begin(), lost.end(), false);
  }

  // Unavailable once the cluster cannot serve any more: the coordinator given up, or every
  // replica short of a rank for good.
  absl::Status Check(const Supervisor& s, const std::string& log_dir) const {
    if (s.gave_up(coordinator)) {
      return absl::UnavailableError(absl::StrCat(
          "the coordinator was given up on; stopping the cluster (see ", log_dir, ")"));
    }
    if (Whole(s) == 0) {
      return absl::UnavailableError(absl::StrCat(
          "every replica has lost a rank for good; stopping the cluster (see ", log_dir, ")"));
    }
    return absl::OkStatus();
  }
};

}  // namespace

absl::Status RunUp(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, Flags()));
  if (args.help()) {
    std::fputs(UpHelp().c_str(), stdout);
    return absl::OkStatus();
  }
  // Every value is checked here, once, and passed on typed (the workers would refuse the same).
  TPS_ASSIGN_OR_RETURN(const model::ParallelLayout layout,
                       worker::GetParallelLayout(args, worker::kTpFlag, nullptr));
  const int64_t tp = layout.tp_size;
  TPS_ASSIGN_OR_RETURN(const int64_t replicas, args.Get(kReplicasFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t port, args.Get(kPortFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t startup_s, args.Get(kStartupTimeoutSFlag));
  RestartPolicy policy;
  TPS_ASSIGN_OR_RETURN(const int64_t max_restarts, args.Get(kMaxRestartsFlag));
  policy.max_restarts = static_cast<int>(max_restarts);
  TPS_ASSIGN_OR_RETURN(const int64_t backoff_ms, args.Get(kRestartBackoffMsFlag));
  policy.initial_backoff = absl::Milliseconds(backoff_ms);
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  int64_t threads = std::max<int64_t>(1, cores / (tp * replicas));
  if (args.Has(kUpThreadsFlag)) {
    TPS_ASSIGN_OR_RETURN(threads, args.Get(kUpThreadsFlag));
  }
  TPS_ASSIGN_OR_RETURN(const int64_t max_slots, args.Get(worker::kMaxSlotsFlag));
  TPS_ASSIGN_OR_RETURN(const int64_t max_context, args.Get(worker::kMaxContextFlag));
  TPS_ASSIGN_OR_RETURN(const worker::Transport transport, args.Get(worker::kTransportFlag));
  TPS_ASSIGN_OR_RETURN(const shard::VisionParallelism vision,
                       args.Get(worker::kVisionParallelismFlag));
  std::string api_token;
  if (args.Has(coordinator::kApiTokenFileFlag)) {
    TPS_ASSIGN_OR_RETURN(api_token,
                         cluster::ReadTokenFlagFile(coordinator::kApiTokenFileFlag,
                                                    args.Get(coordinator::kApiTokenFileFlag)));
  }
  if (args.Has(cluster::kJoinTokenFileFlag)) {
    TPS_RETURN_IF_ERROR(cluster::ReadTokenFlagFile(cluster::kJoinTokenFileFlag,
                                                   args.Get(cluster::kJoinTokenFileFlag))
                            .status());
  }

  ResolvedModel model;
  if (args.Has(kUpModelFlag)) {
    model.dir = args.Get(kUpModelFlag);
    model.name = worker::DefaultModelName(model.dir);
    model.source = "flag";
  } else {
    TPS_ASSIGN_OR_RETURN(model, ResolveDefaultModel(args.Get(kRandomPresetFlag)));
  }
  if (args.Has(worker::kModelNameFlag)) model.name = args.Get(worker::kModelNameFlag);
  // What the workers and the coordinator will read (a config they would refuse fails here, once).
  TPS_ASSIGN_OR_RETURN(const model::Qwen35Spec spec, model::LoadQwen35Config(model.dir));
  if (model.random) {
    std::fprintf(
        stderr,
        "\n*** %s is not in the local Hugging Face cache and cannot be downloaded here.\n"
        "*** Serving a RANDOM-WEIGHT model of the same shape instead (%s):\n"
        "*** everything it says is noise. Pass --model DIR to serve a real checkpoint.\n\n",
        kDefaultModelRepo, model.dir.c_str());
  } else if (spec.random_weights) {
    std::fprintf(stderr,
                 "\n*** %s has RANDOM WEIGHTS (\"tpserve_random_weights\": true in config.json):\n"
                 "*** everything it says is noise.\n\n",
                 model.dir.c_str());
  }

  std::string log_dir = args.Get(kLogDirFlag);
  if (log_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "tpserve_up_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      return absl::InternalError("cannot create a log directory");
    log_dir = tmpl;
  }
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  const std::string bin = BinDir();
  Supervisor supervisor(policy, "tpserve up: ");
  Members members{.replicas = replicas};
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  absl::Status status = [&]() -> absl::Status {
    auto add = [](std::vector<std::string>& to, const FlagSpec& flag, const std::string& value) {
      const std::vector<std::string> a = FlagArgs(flag, value);
      to.insert(to.end(), a.begin(), a.end());
    };
    const std::string port_file = log_dir + "/coordinator.ports";
    std::remove(port_file.c_str());
    auto coordinator_argv = [&](int64_t client, int64_t cluster_port, int64_t metrics) {
      std::vector<std::string> a = {bin + "/tpserve-coordinator"};
      add(a, cluster::kListenFlag, absl::StrCat("127.0.0.1:", client));
      add(a, coordinator::kClusterListenFlag, absl::StrCat("127.0.0.1:", cluster_port));
      add(a, cluster::kMetricsListenFlag, absl::StrCat("127.0.0.1:", metrics));
      add(a, cluster::kPortFileFlag, port_file);
      for (const StringFlag& f : {coordinator::kApiTokenFileFlag, cluster::kJoinTokenFileFlag}) {
        if (args.Has(f)) add(a, f, args.Get(f));
      }
      return a;
    };
    absl::StatusOr<int> started = supervisor.Start({.name = "coordinator",
                                                    .argv = coordinator_argv(port, 0, 0),
                                                    .log_path = log_dir + "/coordinator.log"});
    TPS_RETURN_IF_ERROR(NotBuilt(started.status()));
    members.coordinator = *started;
    members.replica_of.push_back(-1);

    // Its ports (a restart before it wrote them starts over with the same flags).
    std::optional<nlohmann::json> ports;
    const absl::Time ports_deadline = absl::Now() + absl::Seconds(60);
    while (!(ports = ReadJsonFile(port_file)).has_value()) {
      if (g_stop.load()) return absl::CancelledError("interrupted during startup");
      supervisor.Poll();
      if (supervisor.gave_up(members.coordinator)) {
        return absl::UnavailableError(absl::StrCat(
            "the coordinator was given up on during startup; see ", log_dir, "/coordinator.log"));
      }
      if (absl::Now() > ports_deadline) {
        return absl::DeadlineExceededError(absl::StrCat("no port file ", port_file, " in time"));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    const int client_port = ports->value("client", 0);
    const int cluster_port = ports->value("cluster", 0);
    const int metrics_port = ports->value("metrics", 0);
    // A restart binds the same ports: clients and workers keep their addresses.
    supervisor.SetArgv(members.coordinator,
                       coordinator_argv(client_port, cluster_port, metrics_port));
    const std::string client_addr = absl::StrCat("127.0.0.1:", client_port);
    const std::string cluster_addr = absl::StrCat("127.0.0.1:", cluster_port);
    for (int64_t r = 0; r < replicas; ++r) {
      for (int64_t k = 0; k < tp; ++k) {
        std::vector<std::string> wargs = {bin + "/tpserve-worker"};
        add(wargs, worker::kCoordinatorFlag, cluster_addr);
        add(wargs, worker::kModelFlag, model.dir);
        add(wargs, worker::kModelNameFlag, model.name);
        add(wargs, worker::kGroupFlag, absl::StrCat("g", r));
        add(wargs, worker::kRankFlag, std::to_string(k));
        add(wargs, worker::kWorldSizeFlag, std::to_string(tp));
        add(wargs, worker::kThreadsFlag, std::to_string(threads));
        add(wargs, worker::kTransportFlag, worker::TransportName(transport));
        add(wargs, worker::kMaxSlotsFlag, std::to_string(max_slots));
        add(wargs, worker::kMaxContextFlag, std::to_string(max_context));
        add(wargs, worker::kVisionParallelismFlag,
            std::string(shard::VisionParallelismName(vision)));
        add(wargs, cluster::kPortFileFlag,
            absl::StrCat(log_dir, "/worker-g", r, "-r", k, ".ports"));
        if (args.Has(cluster::kJoinTokenFileFlag)) {
          add(wargs, cluster::kJoinTokenFileFlag, args.Get(cluster::kJoinTokenFileFlag));
        }
        started =
            supervisor.Start({.name = absl::StrCat("worker g", r, " rank ", k),
                              .argv = std::move(wargs),
                              .log_path = absl::StrCat(log_dir, "/worker-g", r, "-r", k, ".log")});
        TPS_RETURN_IF_ERROR(NotBuilt(started.status()));
        members.replica_of.push_back(static_cast<int>(r));
      }
    }
    std::fprintf(stderr,
                 "tpserve up: coordinator at %s, %lld replica(s) x %lld rank(s) of %s "
                 "starting (logs in %s)\n",
                 client_addr.c_str(), static_cast<long long>(replicas), static_cast<long long>(tp),
                 model.name.c_str(), log_dir.c_str());

    // Ready when the coordinator reports every replica ready.
    ClientOptions copts;
    copts.address = client_addr;
    copts.token = api_token;
    TPS_ASSIGN_OR_RETURN(std::unique_ptr<ChatClient> client, ChatClient::Connect(copts));
    const absl::Time deadline = absl::Now() + absl::Seconds(startup_s);
    for (;;) {
      if (g_stop.load()) return absl::CancelledError("interrupted during startup");
      supervisor.Poll();
      TPS_RETURN_IF_ERROR(members.Check(supervisor, log_dir));
      if (members.Whole(supervisor) < replicas) {
        return absl::UnavailableError(absl::StrCat(
            "a replica lost a rank for good during startup; stopping (see ", log_dir, ")"));
      }
      absl::StatusOr<v1::ListModelsResponse> models = client->ListModels();
      int ready = 0;
      if (models.ok()) {
        for (const auto& m : models->models()) {
          if (m.name() == model.name) ready = m.ready_replicas();
        }
      }
      if (ready >= replicas) break;
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("replicas not ready within ", startup_s, " s; see ", log_dir));
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    const bool noise = model.random || spec.random_weights;
    std::printf(
        "tpserve cluster ready: chat at %s (model %s, %lld replica(s) x tp %lld)%s\n"
        "  try: tpserve chat --addr %s --prompt \"Hello\"\n",
        client_addr.c_str(), model.name.c_str(), static_cast<long long>(replicas),
        static_cast<long long>(tp), noise ? " [RANDOM WEIGHTS: noise]" : "", client_addr.c_str());
    std::fflush(stdout);
    if (args.Has(kReadyFileFlag)) {
      nlohmann::json j = {{"address", client_addr},
                          {"model", model.name},
                          {"metrics", absl::StrCat("127.0.0.1:", metrics_port)},
                          {"cluster", cluster_addr},
                          {"log_dir", log_dir},
                          {"random_weights", spec.random_weights}};
      std::ofstream(args.Get(kReadyFileFlag)) << j.dump() << "\n";
    }
    // Serve until interrupted, restarting what dies (the supervisor reports each exit).
    int64_t whole = replicas;
    while (!g_stop.load()) {
      supervisor.Poll();
      TPS_RETURN_IF_ERROR(members.Check(supervisor, log_dir));
      if (const int64_t now_whole = members.Whole(supervisor); now_whole < whole) {
        whole = now_whole;
        std::fprintf(stderr, "tpserve up: %lld of %lld replica(s) can still serve\n",
                     static_cast<long long>(whole), static_cast<long long>(replicas));
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::OkStatus();
  }();
  supervisor.StopAll(absl::Seconds(10));
  return status;
}

}  // namespace tpserve::cli
