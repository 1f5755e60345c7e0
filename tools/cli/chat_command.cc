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
#include "ops/base/flags.h"
#include "ops/base/status_macros.h"
#include "proto/cluster_flags.h"
#include "tools/cli/chat_client.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"

namespace tpserve::cli {
namespace {

constexpr StringFlag kAddrFlag{.name = "addr",
                               .value_name = "HOST:PORT",
                               .help = "the cluster's chat API (tpserve up prints it)"};
constexpr StringFlag kServedModelFlag{.name = "model",
                                      .value_name = "NAME",
                                      .help = "a served model",
                                      .default_note = "the only one the cluster serves"};
constexpr StringFlag kPromptFlag{
    .name = "prompt", .value_name = "TEXT", .help = "one user message, then exit"};
constexpr StringFlag kSystemFlag{
    .name = "system", .value_name = "TEXT", .help = "a system message first"};
constexpr StringFlag kImageFlag{
    .name = "image", .value_name = "FILE", .help = "attach an image to the first user message"};
constexpr BoolFlag kThinkFlag{.name = "think", .help = "thinking on (default: the model's)"};
constexpr BoolFlag kNoThinkFlag{.name = "no-think", .help = "thinking off"};
constexpr StringFlag kStopFlag{.name = "stop", .value_name = "TEXT", .help = "a stop string (one)"};
constexpr StringFlag kTokenFlag{
    .name = "token", .value_name = "TOKEN", .help = "bearer token for the API"};
constexpr StringFlag kTokenFileFlag{
    .name = "token-file", .value_name = "FILE", .help = "the bearer token, from a file"};
constexpr StringFlag kTlsCaFlag{.name = "tls-ca",
                                .value_name = "FILE",
                                .help = "use TLS, verifying the server with this CA certificate"};
constexpr BoolFlag kHideReasoningFlag{.name = "hide-reasoning",
                                      .help = "do not print the reasoning"};
constexpr IntFlag kChatMaxTokensFlag = kMaxTokensFlag.WithDefault(512);

const FlagList& ClientFlagList() {
  static const FlagList* const flags =
      new FlagList{kAddrFlag, kTokenFlag, kTokenFileFlag, kTlsCaFlag};
  return *flags;
}

const FlagList& ChatFlagList() {
  static const FlagList* const flags =
      new FlagList(Concat(Concat({kServedModelFlag, kPromptFlag, kSystemFlag, kImageFlag,
                                  kThinkFlag, kNoThinkFlag, kChatMaxTokensFlag},
                                 SamplingFlagList("the model's")),
                          Concat({kStopFlag, kHideReasoningFlag}, ClientFlagList())));
  return *flags;
}

std::string ChatHelp() {
  return "usage: tpserve chat --addr HOST:PORT [--model NAME] [--prompt TEXT] [flags]\n"
         "Streams a chat with a running cluster (tpserve up). Without --prompt: interactive; type "
         "a\nmessage per line, Ctrl-C cancels the reply in progress, Ctrl-D or /exit quits.\n"
         "\n" +
         FlagUsage(ChatFlagList());
}

absl::StatusOr<ClientOptions> ClientFlags(const CommandLine& args) {
  ClientOptions o;
  TPS_ASSIGN_OR_RETURN(o.address, args.Required(kAddrFlag));
  o.tls_ca_file = args.Get(kTlsCaFlag);
  o.token = args.Get(kTokenFlag);
  if (args.Has(kTokenFileFlag)) {
    TPS_ASSIGN_OR_RETURN(o.token,
                         cluster::ReadTokenFlagFile(kTokenFileFlag, args.Get(kTokenFileFlag)));
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
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, ChatFlagList()));
  if (args.help()) {
    std::fputs(ChatHelp().c_str(), stdout);
    return absl::OkStatus();
  }
  TPS_ASSIGN_OR_RETURN(ClientOptions copts, ClientFlags(args));
  if (args.Get(kThinkFlag) && args.Get(kNoThinkFlag)) {
    return absl::InvalidArgumentError("--think and --no-think are exclusive");
  }
  v1::ChatRequest base;
  TPS_ASSIGN_OR_RETURN(const int64_t max_tokens, args.Get(kChatMaxTokensFlag));
  base.set_max_tokens(static_cast<int32_t>(max_tokens));
  // Only the sampling flags given; the server fills the rest from the model's defaults.
  TPS_ASSIGN_OR_RETURN(const SamplingFlags given, ParseSamplingFlags(args));
  v1::SamplingParams* s = base.mutable_sampling();
  if (given.fields.temperature.has_value()) s->set_temperature(*given.fields.temperature);
  if (given.fields.top_k.has_value()) s->set_top_k(*given.fields.top_k);
  if (given.fields.top_p.has_value()) s->set_top_p(*given.fields.top_p);
  if (given.fields.min_p.has_value()) s->set_min_p(*given.fields.min_p);
  if (given.fields.repetition_penalty.has_value()) {
    s->set_repetition_penalty(*given.fields.repetition_penalty);
  }
  if (given.seed.has_value()) s->set_seed(*given.seed);
  if (args.Get(kThinkFlag)) base.set_enable_thinking(true);
  if (args.Get(kNoThinkFlag)) base.set_enable_thinking(false);
  if (args.Has(kStopFlag)) base.add_stop(args.Get(kStopFlag));
  std::string image;
  if (args.Has(kImageFlag)) {
    TPS_ASSIGN_OR_RETURN(image, ReadFile(args.Get(kImageFlag)));
  }
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<ChatClient> client, ChatClient::Connect(copts));
  TPS_ASSIGN_OR_RETURN(std::string model, ResolveModel(*client, args.Get(kServedModelFlag)));
  base.set_model(model);
  std::random_device rd;
  base.set_session_id(absl::StrCat("cli-", rd(), rd()));
  if (args.Has(kSystemFlag)) {
    v1::Message* m = base.add_messages();
    m->set_role("system");
    m->add_content()->set_text(args.Get(kSystemFlag));
  }
  const bool show_reasoning = !args.Get(kHideReasoningFlag);
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

  if (args.Has(kPromptFlag)) return turn(args.Get(kPromptFlag));
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
  TPS_ASSIGN_OR_RETURN(CommandLine args, CommandLine::Parse(argv, ClientFlagList()));
  if (args.help()) {
    std::fputs(absl::StrCat("usage: tpserve models --addr HOST:PORT [flags]\n\n",
                            FlagUsage(ClientFlagList()))
                   .c_str(),
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
