// tpserve: the command-line entry point.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/cli/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: tpserve <command> [flags]\n"
    "\n"
    "commands:\n"
    "  up                 start a local cluster (coordinator + workers) and serve until Ctrl-C\n"
    "  chat               chat with a running cluster (streaming; interactive or --prompt)\n"
    "  models             list the models a running cluster serves\n"
    "  generate           run a model on a prompt (ids, text or a chat turn) and print the output\n"
    "  inspect            print a model's architecture and the memory a replica needs\n"
    "  make-random-model  write a random-weight Qwen3.5 checkpoint of a published shape\n"
    "  bench              measure prefill and decode speed of a model\n"
    "  tokenize           print the token ids of a text (the model's tokenizer.json)\n"
    "  detokenize         print the text of token ids\n"
    "\n"
    "Run 'tpserve <command> --help' for the flags of a command.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  absl::Status status;
  if (command == "generate") {
    status = tpserve::cli::RunGenerate(args);
  } else if (command == "inspect") {
    status = tpserve::cli::RunInspect(args);
  } else if (command == "make-random-model") {
    status = tpserve::cli::RunMakeRandomModel(args);
  } else if (command == "bench") {
    status = tpserve::cli::RunBench(args);
  } else if (command == "tokenize") {
    status = tpserve::cli::RunTokenize(args);
  } else if (command == "detokenize") {
    status = tpserve::cli::RunDetokenize(args);
  } else if (command == "up") {
    status = tpserve::cli::RunUp(args);
  } else if (command == "chat") {
    status = tpserve::cli::RunChat(args);
  } else if (command == "models") {
    status = tpserve::cli::RunModels(args);
  } else if (command == "worker-rank") {  // internal: a follower started by its group leader
    status = tpserve::cli::RunWorkerRank(args);
  } else {
    std::fprintf(stderr, "tpserve: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "tpserve %s: %s\n", command.c_str(),
                 std::string(status.message()).c_str());
    return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
