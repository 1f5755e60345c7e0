#include "worker/worker_flags.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tpserve::worker {

const char kWorkerUsage[] =
    "usage: tpserve-worker --coordinator HOST:PORT --model DIR [flags]\n"
    "\n"
    "One rank of one model replica. Rank 0 of a group (the leader) serves Leader.Generate and\n"
    "runs the continuous-batching scheduler; other ranks follow its step plans.\n"
    "\n"
    "  --coordinator HOST:PORT       the coordinator's cluster API\n"
    "  --model DIR                   Hugging Face model directory\n"
    "  --model-name NAME             served name (default: the directory's base name)\n"
    "  --group G --rank R --world-size N   explicit assignment; without them the coordinator\n"
    "                                places the worker (single device)\n"
    "  --listen HOST:PORT            this worker's gRPC address (default 127.0.0.1:0)\n"
    "  --metrics-listen HOST:PORT    /metrics (default 127.0.0.1:0)\n"
    "  --threads N                   CPU threads (default 1)\n"
    "  --transport shm|gloo          collectives between the ranks (default shm: one host)\n"
    "  --max-slots N                 concurrent sequences (default 8)\n"
    "  --max-context N               tokens per sequence (default 4096)\n"
    "  --kv-dtype f32|bf16           KV cache dtype (default: the checkpoint's)\n"
    "  --vision-parallelism auto|tensor|data  the vision tower across the group: split by heads\n"
    "                                (tensor) or whole on every rank with images spread (data);\n"
    "                                auto = tensor when the heads divide (default auto)\n"
    "  --max-tokens-per-step N       tokens per step: decodes first, then prompt chunks (default "
    "256)\n"
    "  --kv-blocks N                 KV pool in blocks of 16 tokens (default 0: every slot at\n"
    "                                the full context)\n"
    "  --collective-timeout-ms N     a collective waiting longer fails the group (default 30000)\n"
    "  --drain-timeout-ms N          on SIGTERM, streams still running after this end\n"
    "                                UNAVAILABLE (default 30000)\n"
    "  --join-token-file FILE        the cluster's shared secret, presented on every call to\n"
    "                                the coordinator; Generate calls and followers must present\n"
    "                                it to this worker\n"
    "  --cluster-tls-ca FILE         verify the coordinator's cluster TLS certificate\n"
    "  --cluster-tls-cert FILE --cluster-tls-key FILE   serve this worker's gRPC API (Leader)\n"
    "                                over TLS (the coordinator then needs --cluster-tls-ca)\n"
    "  --port-file FILE              write {\"grpc\":P,\"metrics\":P} once listening\n";

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<int64_t> Int(const std::map<std::string, std::string>& values,
                            const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  auto it = values.find(name);
  if (it == values.end()) return fallback;
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v) || v < min || v > max) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " must be an integer in [", min,
                                                   ", ", max, "], got '", it->second, "'"));
  }
  return v;
}

}  // namespace

absl::StatusOr<ParsedWorkerFlags> ParseWorkerFlags(const std::vector<std::string>& args) {
  static const std::set<std::string> kKnown = {"coordinator",
                                               "model",
                                               "model-name",
                                               "group",
                                               "rank",
                                               "world-size",
                                               "listen",
                                               "metrics-listen",
                                               "threads",
                                               "transport",
                                               "max-slots",
                                               "max-context",
                                               "kv-dtype",
                                               "vision-parallelism",
                                               "max-tokens-per-step",
                                               "kv-blocks",
                                               "collective-timeout-ms",
                                               "drain-timeout-ms",
                                               "join-token-file",
                                               "cluster-tls-ca",
                                               "cluster-tls-cert",
                                               "cluster-tls-key",
                                               "port-file"};
  ParsedWorkerFlags out;
  std::map<std::string, std::string> values;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
      return out;
    }
    if (a.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args[i], "'"));
    }
    a = a.substr(2);
    std::string name = a, value;
    if (const size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = args[++i];
    }
    if (!kKnown.count(name))
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    values[name] = value;
  }
  auto str = [&](const std::string& n, const std::string& fallback) {
    auto it = values.find(n);
    return it == values.end() ? fallback : it->second;
  };
  WorkerOptions& o = out.options;
  o.coordinator = str("coordinator", "");
  if (o.coordinator.empty())
    return absl::InvalidArgumentError("--coordinator HOST:PORT is required");
  o.model_dir = str("model", "");
  o.model_name = str("model-name", "");
  o.assigned = values.count("group") || values.count("rank") || values.count("world-size");
  o.group = str("group", "0");
  auto world = Int(values, "world-size", 1, 1, 64);
  if (!world.ok()) return world.status();
  auto rank = Int(values, "rank", 0, 0, 63);
  if (!rank.ok()) return rank.status();
  if (*rank >= *world) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rank ", *rank, " must be below --world-size ", *world));
  }
  o.world_size = static_cast<int>(*world);
  o.rank = static_cast<int>(*rank);
  if (o.assigned && o.model_dir.empty()) {
    return absl::InvalidArgumentError("--model DIR is required with an explicit assignment");
  }
  o.listen = str("listen", "127.0.0.1:0");
  out.metrics_listen = str("metrics-listen", "127.0.0.1:0");
  auto threads = Int(values, "threads", 1, 1, 1024);
  if (!threads.ok()) return threads.status();
  o.threads = static_cast<int>(*threads);
  auto transport = ParseTransport(str("transport", "shm"), "--transport");
  if (!transport.ok()) return transport.status();
  o.transport = *transport;
  auto slots = Int(values, "max-slots", 8, 1, 4096);
  if (!slots.ok()) return slots.status();
  auto context = Int(values, "max-context", 4096, 2, 1 << 24);
  if (!context.ok()) return context.status();
  auto step = Int(values, "max-tokens-per-step", 256, 1, 1 << 20);
  if (!step.ok()) return step.status();
  auto blocks = Int(values, "kv-blocks", 0, 0, int64_t{1} << 40);
  if (!blocks.ok()) return blocks.status();
  if (*step < *slots) {
    return absl::InvalidArgumentError(absl::StrCat("--max-tokens-per-step (", *step,
                                                   ") must be at least --max-slots (", *slots,
                                                   "): every running sequence decodes each step"));
  }
  o.model.max_slots = static_cast<int32_t>(*slots);
  o.model.max_context = static_cast<int32_t>(*context);
  o.model.max_tokens_per_step = *step;
  o.model.num_kv_blocks = *blocks;
  o.scheduler.token_budget = *step;
  const std::string kv = str("kv-dtype", "");
  if (kv == "f32") {
    o.model.kv_dtype = DType::kF32;
  } else if (kv == "bf16") {
    o.model.kv_dtype = DType::kBF16;
  } else if (!kv.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--kv-dtype must be f32 or bf16, got '", kv, "'"));
  }
  auto vision =
      shard::ParseVisionParallelism(str("vision-parallelism", "auto"), "--vision-parallelism");
  if (!vision.ok()) return vision.status();
  o.model.vision_parallelism = *vision;
  auto collective = Int(values, "collective-timeout-ms", 30000, 1, int64_t{1} << 40);
  if (!collective.ok()) return collective.status();
  o.collective_timeout = absl::Milliseconds(*collective);
  auto drain = Int(values, "drain-timeout-ms", 30000, 0, int64_t{1} << 40);
  if (!drain.ok()) return drain.status();
  o.drain_timeout = absl::Milliseconds(*drain);
  if (values.count("join-token-file")) {
    auto token = ReadFile("join-token-file", values["join-token-file"]);
    if (!token.ok()) return token.status();
    o.join_token =
        std::string(absl::StripAsciiWhitespace(absl::string_view(token->data(), token->size())));
  }
  if (values.count("cluster-tls-ca")) {
    auto ca = ReadFile("cluster-tls-ca", values["cluster-tls-ca"]);
    if (!ca.ok()) return ca.status();
    o.tls_ca_pem = *ca;
  }
  o.tls_cert = str("cluster-tls-cert", "");
  o.tls_key = str("cluster-tls-key", "");
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return absl::InvalidArgumentError("--cluster-tls-cert and --cluster-tls-key go together");
  }
  for (const auto& [flag, path] :
       {std::pair<const char*, const std::string&>{"cluster-tls-cert", o.tls_cert},
        {"cluster-tls-key", o.tls_key}}) {
    if (!path.empty()) {
      auto file = ReadFile(flag, path);
      if (!file.ok()) return file.status();
    }
  }
  o.port_file = str("port-file", "");
  return out;
}

}  // namespace tpserve::worker
