// tpserve chat / tpserve models: a client of a running cluster's public API.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "ops/base/status_macros.h"
#include "tools/cli/args.h"
#include "tools/cli/chat_client.h"
#include "tools/cli/commands.h"

namespace tpserve::cli {
namespace {

constexpr char kChatHelp[] =
    "usage: tpserve chat --addr HOST:PORT [--model NAME] [--prompt TEXT] [flags]\n"
    "Streams a chat with a running cluster (tpserve up). Without --prompt: interactive; type a\n"
    "message per line, Ctrl-C cancels the reply in progress, Ctrl-D or /exit quits.\n"
    "\n"
    "  --model NAME             a served model (default: the only one the cluster serves)\n"
    "  --prompt TEXT            one user message, then exit\n"
    "  --system TEXT            a system message first\n"
    "  --image FILE             attach an image to the (first) user message; repeatable\n"
    "  --think / --no-think     thinking on / off (default: the model's)\n"
    "  --max-tokens N           default 512\n"
    "  --temperature T --top-k K --top-p P --min-p P --repetition-penalty R --seed S\n"
    "  --stop TEXT              a stop string (one)\n"
    "  --token TOKEN | --token-file FILE   bearer token for the API\n"
    "  --tls-ca FILE            use TLS, verifying the server with this CA certificate\n"
    "  --hide-reasoning         do not print the reasoning\n";

absl::StatusOr<ClientOptions> ClientFlags(const Args& args) {
  ClientOptions o;
  TPS_ASSIGN_OR_RETURN(o.address, args.Required("addr"));
  o.tls_ca_file = args.String("tls-ca", "");
  o.token = args.String("token", "");
  if (args.Has("token-file")) {
    std::ifstream in(args.String("token-file", ""));
    if (!in)
      return absl::NotFoundError("--token-file: cannot read " + args.String("token-file", ""));
    std::stringstream ss;
    ss << in.rdbuf();
    o.token = std::string(absl::StripAsciiWhitespace(ss.str()));
  }
  return o;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("--image: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Picks --model or the cluster's only model; notes random-weight stand-ins.
absl::StatusOr<std::string> ResolveModel(ChatClient& client, const std::string& requested) {
  TPS_ASSIGN_OR_RETURN(v1::ListModelsResponse models, client.ListModels());
  const v1::ModelInfo* chosen = nullptr;
  std::vector<std::string> names;
  for (const auto& m : models.models()) {
    names.push_back(m.name());
    if (m.name() == requested || (requested.empty() && models.models_size() == 1)) chosen = &m;
  }
  if (chosen == nullptr) {
    if (!requested.empty()) return requested;  // let the server say NOT_FOUND
    return absl::InvalidArgumentError(absl::StrCat("--model: the cluster serves ", names.size(),
                                                   " models (", absl::StrJoin(names, ", "),
                                                   "); name one"));
  }
  if (chosen->random_weights()) {
    std::fprintf(stderr,
                 "note: %s has RANDOM weights (no real checkpoint on this machine): its "
                 "replies are noise\n",
                 chosen->name().c_str());
  }
  return chosen->name();
}

// Ctrl-C: cancel the reply in flight; with none in flight, exit.
class InterruptHandler {
 public:
  explicit InterruptHandler(ChatClient& client) : client_(client) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([this, set] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) return;
        if (busy_.load()) {
          client_.Cancel();
        } else {
          std::fputs("\n", stdout);
          std::_Exit(130);
        }
      }
    });
    thread_.detach();
  }
  void set_busy(bool b) { busy_.store(b); }

 private:
  ChatClient& client_;
  std::atomic<bool> busy_{false};
  std::thread thread_;
};

}  // namespace

absl::Status RunChat(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(Args args,
                       Args::Parse(argv,
                                   {"addr", "model", "prompt", "system", "image", "max-tokens",
                                    "temperature", "top-k", "top-p", "min-p", "repetition-penalty",
                                    "seed", "stop", "token", "token-file", "tls-ca"},
                                   {"think", "no-think", "hide-reasoning", "help"}));
  if (args.Bool("help")) {
    std::fputs(kChatHelp, stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(ClientOptions copts, ClientFlags(args));
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<ChatClient> client, ChatClient::Connect(copts));
  TPS_ASSIGN_OR_RETURN(std::string model, ResolveModel(*client, args.String("model", "")));

  v1::ChatRequest base;
  base.set_model(model);
  TPS_ASSIGN_OR_RETURN(int64_t max_tokens, args.Int("max-tokens", 512));
  base.set_max_tokens(static_cast<int32_t>(max_tokens));
  v1::SamplingParams* s = base.mutable_sampling();
  if (args.Has("temperature")) {
    TPS_ASSIGN_OR_RETURN(double v, args.Double("temperature", 0));
    s->set_temperature(static_cast<float>(v));
  }
  if (args.Has("top-k")) {
    TPS_ASSIGN_OR_RETURN(int64_t v, args.Int("top-k", 0));
    s->set_top_k(static_cast<int32_t>(v));
  }
  if (args.Has("top-p")) {
    TPS_ASSIGN_OR_RETURN(double v, args.Double("top-p", 1));
    s->set_top_p(static_cast<float>(v));
  }
  if (args.Has("min-p")) {
    TPS_ASSIGN_OR_RETURN(double v, args.Double("min-p", 0));
    s->set_min_p(static_cast<float>(v));
  }
  if (args.Has("repetition-penalty")) {
    TPS_ASSIGN_OR_RETURN(double v, args.Double("repetition-penalty", 1));
    s->set_repetition_penalty(static_cast<float>(v));
  }
  if (args.Has("seed")) {
    TPS_ASSIGN_OR_RETURN(int64_t v, args.Int("seed", 0));
    s->set_seed(static_cast<uint64_t>(v));
  }
  if (args.Bool("think") && args.Bool("no-think")) {
    return absl::InvalidArgumentError("--think and --no-think are exclusive");
  }
  if (args.Bool("think")) base.set_enable_thinking(true);
  if (args.Bool("no-think")) base.set_enable_thinking(false);
  if (args.Has("stop")) base.add_stop(args.String("stop", ""));
  std::random_device rd;
  base.set_session_id(absl::StrCat("cli-", rd(), rd()));
  if (args.Has("system")) {
    v1::Message* m = base.add_messages();
    m->set_role("system");
    m->add_content()->set_text(args.String("system", ""));
  }
  std::string image;
  if (args.Has("image")) {
    TPS_ASSIGN_OR_RETURN(image, ReadFile(args.String("image", "")));
  }
  const bool show_reasoning = !args.Bool("hide-reasoning");
  const bool tty = isatty(1) != 0;
  InterruptHandler interrupts(*client);

  // One turn: send the history plus `text`, stream the reply, keep it in the history.
  auto turn = [&](const std::string& text) -> absl::Status {
    v1::Message* user = base.add_messages();
    user->set_role("user");
    if (!image.empty()) {
      user->add_content()->mutable_image()->set_data(image);
      image.clear();
    }
    user->add_content()->set_text(text);
    std::string content, reasoning;
    bool in_reasoning = false;
    interrupts.set_busy(true);
    absl::StatusOr<v1::Done> done = client->Chat(base, [&](const v1::Delta& d) {
      if (!d.reasoning().empty()) {
        reasoning += d.reasoning();
        if (show_reasoning) {
          if (!in_reasoning && tty) std::fputs("\033[2m", stdout);
          in_reasoning = true;
          std::fputs(d.reasoning().c_str(), stdout);
        }
      }
      if (!d.content().empty()) {
        if (in_reasoning) {
          if (tty) std::fputs("\033[0m", stdout);
          std::fputs("\n", stdout);
          in_reasoning = false;
        }
        content += d.content();
        std::fputs(d.content().c_str(), stdout);
      }
      for (const auto& call : d.tool_calls()) {
        std::printf("\n[tool call] %s(%s)\n", call.name().c_str(), call.arguments_json().c_str());
      }
      std::fflush(stdout);
    });
    interrupts.set_busy(false);
    if (in_reasoning && tty) std::fputs("\033[0m", stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    if (!done.ok()) return done.status();
    static const char* kReasons[] = {"?", "stop", "length", "tool_calls", "cancelled"};
    const int r = static_cast<int>(done->finish_reason());
    std::fprintf(stderr,
                 "[%s: %d prompt + %d completion tokens, first token %.2f s, total %.2f s]\n",
                 kReasons[r >= 0 && r <= 4 ? r : 0], done->usage().prompt_tokens(),
                 done->usage().completion_tokens(), done->time_to_first_token_seconds(),
                 done->total_seconds());
    v1::Message* reply = base.add_messages();
    reply->set_role("assistant");
    reply->add_content()->set_text(content);
    reply->set_reasoning_content(reasoning);
    return absl::OkStatus();
  };

  if (args.Has("prompt")) return turn(args.String("prompt", ""));
  std::string line;
  for (;;) {
    if (isatty(0)) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (absl::Status st = turn(line); !st.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(st.message()).c_str());
      base.mutable_messages()->RemoveLast();  // drop the unanswered user turn
    }
  }
  return absl::OkStatus();
}

absl::Status RunModels(const std::vector<std::string>& argv) {
  TPS_ASSIGN_OR_RETURN(Args args,
                       Args::Parse(argv, {"addr", "token", "token-file", "tls-ca"}, {"help"}));
  if (args.Bool("help")) {
    std::fputs("usage: tpserve models --addr HOST:PORT [--token T | --token-file F] [--tls-ca F]\n",
               stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(ClientOptions copts, ClientFlags(args));
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<ChatClient> client, ChatClient::Connect(copts));
  TPS_ASSIGN_OR_RETURN(v1::ListModelsResponse models, client->ListModels());
  std::printf("%-28s %-7s %-8s %-9s %s\n", "MODEL", "TIER", "CONTEXT", "REPLICAS", "CAPABILITIES");
  for (const auto& m : models.models()) {
    std::printf("%-28s %-7s %-8d %d/%-7d %s%s\n", m.name().c_str(), m.tier().c_str(),
                m.context_length(), m.ready_replicas(), m.replicas(),
                absl::StrJoin(m.capabilities(), ",").c_str(),
                m.random_weights() ? "  (random weights)" : "");
  }
  return absl::OkStatus();
}

}  // namespace tpserve::cli
