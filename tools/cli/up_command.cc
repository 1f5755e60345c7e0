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
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "ops/base/status_macros.h"
#include "ops/base/subprocess.h"
#include "tools/cli/args.h"
#include "tools/cli/chat_client.h"
#include "tools/cli/commands.h"
#include "tools/cli/default_model.h"

namespace tpserve::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUpHelp[] =
    "usage: tpserve up [--model DIR] [--tp N] [--replicas R] [flags]\n"
    "Starts a coordinator and R groups of N CPU worker ranks on this host, waits until every\n"
    "replica is ready, prints the chat address and serves until Ctrl-C.\n"
    "\n"
    "  --model DIR              a Hugging Face model directory (default: Qwen/Qwen3.5-0.8B from "
    "the\n"
    "                           local HF cache or the hub; else a random-weight stand-in of its\n"
    "                           shape, whose replies are noise)\n"
    "  --model-name NAME        served name (default: the directory's name)\n"
    "  --tp N                   ranks per replica (default 1)\n"
    "  --replicas R             replicas (default 1)\n"
    "  --port P                 chat API port (default 50051; 0 = any free port)\n"
    "  --threads T              CPU threads per rank (default: cores / (N x R), at least 1)\n"
    "  --max-slots N --max-context N   per replica (worker defaults otherwise)\n"
    "  --transport shm|gloo     collectives inside a replica (default shm)\n"
    "  --vision-parallelism auto|tensor|data  the vision tower inside a replica (default auto)\n"
    "  --random-preset P        shape of the random stand-in (default 0.8b; tiny for tests)\n"
    "  --ready-file FILE        write {\"address\":...,\"model\":...} once ready\n"
    "  --log-dir DIR            process logs (default: a fresh temporary directory)\n"
    "  --api-token-file F --join-token-file F   passed to the coordinator (and workers)\n"
    "  --startup-timeout-s S    default 600\n";

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
  TPS_ASSIGN_OR_RETURN(
      Args args,
      Args::Parse(argv,
                  {"model", "model-name", "tp", "replicas", "port", "threads", "max-slots",
                   "max-context", "transport", "random-preset", "ready-file", "log-dir",
                   "api-token-file", "join-token-file", "startup-timeout-s", "vision-parallelism"},
                  {"help"}));
  if (args.Bool("help")) {
    std::fputs(kUpHelp, stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(int64_t tp, args.Int("tp", 1));
  TPS_ASSIGN_OR_RETURN(int64_t replicas, args.Int("replicas", 1));
  TPS_ASSIGN_OR_RETURN(int64_t port, args.Int("port", 50051));
  TPS_ASSIGN_OR_RETURN(int64_t startup_s, args.Int("startup-timeout-s", 600));
  if (tp < 1 || tp > 64 || replicas < 1 || replicas > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tp and --replicas must be in [1, 64], got ", tp, " and ", replicas));
  }
  if (port < 0 || port > 65535) return absl::InvalidArgumentError("--port must be in [0, 65535]");
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  TPS_ASSIGN_OR_RETURN(int64_t threads,
                       args.Int("threads", std::max<int64_t>(1, cores / (tp * replicas))));

  ResolvedModel model;
  if (args.Has("model")) {
    model.dir = args.String("model", "");
    model.name = fs::path(model.dir).filename().string();
    if (model.name.empty()) model.name = fs::path(model.dir).parent_path().filename().string();
    model.source = "flag";
  } else {
    TPS_ASSIGN_OR_RETURN(model, ResolveDefaultModel(args.String("random-preset", "0.8b")));
  }
  if (args.Has("model-name")) model.name = args.String("model-name", "");
  if (model.random) {
    std::fprintf(
        stderr,
        "\n*** %s is not in the local Hugging Face cache and cannot be downloaded here.\n"
        "*** Serving a RANDOM-WEIGHT model of the same shape instead (%s):\n"
        "*** everything it says is noise. Pass --model DIR to serve a real checkpoint.\n\n",
        kDefaultModelRepo, model.dir.c_str());
  }

  std::string log_dir = args.String("log-dir", "");
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
    std::vector<std::string> cargs = {"--listen",         absl::StrCat("127.0.0.1:", port),
                                      "--cluster-listen", "127.0.0.1:0",
                                      "--metrics-listen", "127.0.0.1:0",
                                      "--port-file",      log_dir + "/coordinator.ports"};
    for (const char* f : {"api-token-file", "join-token-file"}) {
      if (args.Has(f)) {
        cargs.push_back(absl::StrCat("--", f));
        cargs.push_back(args.String(f, ""));
      }
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
        std::vector<std::string> wargs = {
            "--coordinator", cluster_addr,
            "--model",       model.dir,
            "--model-name",  model.name,
            "--group",       absl::StrCat("g", r),
            "--rank",        std::to_string(k),
            "--world-size",  std::to_string(tp),
            "--threads",     std::to_string(threads),
            "--transport",   args.String("transport", "shm"),
            "--port-file",   absl::StrCat(log_dir, "/worker-g", r, "-r", k, ".ports")};
        for (const char* f :
             {"max-slots", "max-context", "join-token-file", "vision-parallelism"}) {
          if (args.Has(f)) {
            wargs.push_back(absl::StrCat("--", f));
            wargs.push_back(args.String(f, ""));
          }
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
    if (args.Has("api-token-file")) {
      std::ifstream in(args.String("api-token-file", ""));
      std::stringstream ss;
      ss << in.rdbuf();
      copts.token = std::string(absl::StripAsciiWhitespace(ss.str()));
    }
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
    if (args.Has("ready-file")) {
      nlohmann::json j = {{"address", client_addr},
                          {"model", model.name},
                          {"metrics", absl::StrCat("127.0.0.1:", ports.value("metrics", 0))},
                          {"cluster", cluster_addr},
                          {"log_dir", log_dir},
                          {"random_weights", model.random}};
      std::ofstream(args.String("ready-file", "")) << j.dump() << "\n";
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
