// tpserve up: a whole cluster on this host — one tpserve-coordinator and R groups of N
// tpserve-worker ranks (CPU) — in the foreground until Ctrl-C.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "coordinator/coordinator_flags.h"
#include "nlohmann/json.hpp"
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "ops/base/subprocess.h"
#include "proto/cluster_flags.h"
#include "tools/cli/chat_client.h"
#include "tools/cli/commands.h"
#include "tools/cli/default_model.h"
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
                                                    kStartupTimeoutSFlag};
  return *flags;
}

std::string UpHelp() {
  return "usage: tpserve up [--model DIR] [--tp N] [--replicas R] [flags]\n"
         "Starts a coordinator and R groups of N CPU worker ranks on this host, waits until every\n"
         "replica is ready, prints the chat address and serves until Ctrl-C. The worker flags\n"
         "are passed on to every rank; the token files to the coordinator (and the workers).\n"
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

struct Child {
  std::string name;
  Subprocess process;
  bool reported = false;  // its exit was reported
};

absl::StatusOr<Subprocess> Spawn(const std::string& binary, const std::vector<std::string>& args,
                                 const std::string& log_path) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions o;
  o.parent_death_signal = SIGTERM;  // drains, like Ctrl-C
  o.out = Redirect::File(log_path, /*append=*/false);
  o.err = o.out;
  absl::StatusOr<Subprocess> p = Subprocess::Exec(argv, o);
  if (absl::IsFailedPrecondition(p.status())) {
    return Annotate(p.status(), "build the binaries first (scripts/build.sh)");
  }
  return p;
}

absl::StatusOr<nlohmann::json> WaitForPortFile(const std::string& path, Subprocess& process,
                                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline && !g_stop.load()) {
    std::ifstream in(path);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
      if (!j.is_discarded() && j.is_object()) return j;
    }
    if (!process.Running()) {
      return absl::UnavailableError(
          absl::StrCat("process ", process.pid(), " ", process.DescribeExit(), " during startup"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("no port file ", path, " in time"));
}

// SIGTERM to every child (they drain), up to 10 s, then SIGKILL; all reaped.
void StopAll(std::vector<Child>& children) {
  for (Child& c : children) c.process.Signal(SIGTERM);
  const absl::Time until = absl::Now() + absl::Seconds(10);
  for (Child& c : children) {
    if (!c.process.WaitFor(std::max(absl::ZeroDuration(), until - absl::Now())).has_value()) {
      c.process.Kill();
    }
  }
}

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
  if (model.random) {
    std::fprintf(
        stderr,
        "\n*** %s is not in the local Hugging Face cache and cannot be downloaded here.\n"
        "*** Serving a RANDOM-WEIGHT model of the same shape instead (%s):\n"
        "*** everything it says is noise. Pass --model DIR to serve a real checkpoint.\n\n",
        kDefaultModelRepo, model.dir.c_str());
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
  std::vector<Child> children;
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  absl::Status status = [&]() -> absl::Status {
    std::vector<std::string> cargs;
    auto add = [](std::vector<std::string>& to, const FlagSpec& flag, const std::string& value) {
      const std::vector<std::string> a = FlagArgs(flag, value);
      to.insert(to.end(), a.begin(), a.end());
    };
    add(cargs, cluster::kListenFlag, absl::StrCat("127.0.0.1:", port));
    add(cargs, coordinator::kClusterListenFlag, "127.0.0.1:0");
    add(cargs, cluster::kMetricsListenFlag, "127.0.0.1:0");
    add(cargs, cluster::kPortFileFlag, log_dir + "/coordinator.ports");
    for (const StringFlag& f : {coordinator::kApiTokenFileFlag, cluster::kJoinTokenFileFlag}) {
      if (args.Has(f)) add(cargs, f, args.Get(f));
    }
    TPS_ASSIGN_OR_RETURN(Subprocess coordinator,
                         Spawn(bin + "/tpserve-coordinator", cargs, log_dir + "/coordinator.log"));
    children.push_back({"coordinator", std::move(coordinator)});
    TPS_ASSIGN_OR_RETURN(nlohmann::json ports,
                         WaitForPortFile(log_dir + "/coordinator.ports", children.back().process,
                                         absl::Seconds(60)));
    const std::string client_addr = absl::StrCat("127.0.0.1:", ports.value("client", 0));
    const std::string cluster_addr = absl::StrCat("127.0.0.1:", ports.value("cluster", 0));
    for (int64_t r = 0; r < replicas; ++r) {
      for (int64_t k = 0; k < tp; ++k) {
        std::vector<std::string> wargs;
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
        TPS_ASSIGN_OR_RETURN(Subprocess worker,
                             Spawn(bin + "/tpserve-worker", wargs,
                                   absl::StrCat(log_dir, "/worker-g", r, "-r", k, ".log")));
        children.push_back({absl::StrCat("worker g", r, " rank ", k), std::move(worker)});
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
      for (Child& c : children) {
        if (!c.process.Running()) {
          return absl::UnavailableError(absl::StrCat(c.name, " ", c.process.DescribeExit(),
                                                     " during startup; see ", log_dir));
        }
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
    std::printf(
        "tpserve cluster ready: chat at %s (model %s, %lld replica(s) x tp %lld)%s\n"
        "  try: tpserve chat --addr %s --prompt \"Hello\"\n",
        client_addr.c_str(), model.name.c_str(), static_cast<long long>(replicas),
        static_cast<long long>(tp), model.random ? " [RANDOM WEIGHTS: noise]" : "",
        client_addr.c_str());
    std::fflush(stdout);
    if (args.Has(kReadyFileFlag)) {
      nlohmann::json j = {{"address", client_addr},
                          {"model", model.name},
                          {"metrics", absl::StrCat("127.0.0.1:", ports.value("metrics", 0))},
                          {"cluster", cluster_addr},
                          {"log_dir", log_dir},
                          {"random_weights", model.random}};
      std::ofstream(args.Get(kReadyFileFlag)) << j.dump() << "\n";
    }
    // Serve until interrupted; a dead coordinator ends the cluster, a dead worker is reported.
    while (!g_stop.load()) {
      for (Child& c : children) {
        if (c.reported || c.process.Running()) continue;
        c.reported = true;
        std::fprintf(stderr, "tpserve up: %s (pid %d) %s; see %s\n", c.name.c_str(),
                     c.process.pid(), c.process.DescribeExit().c_str(), log_dir.c_str());
        if (c.name == "coordinator") return absl::UnavailableError("the coordinator exited");
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return absl::OkStatus();
  }();
  StopAll(children);
  return status;
}

}  // namespace tpserve::cli
