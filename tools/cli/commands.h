// The tpserve subcommands. Each takes the arguments after its name and returns the process exit
// code; errors are printed as one line "tpserve <command>: <message>" on stderr.
#ifndef TPSERVE_TOOLS_CLI_COMMANDS_H_
#define TPSERVE_TOOLS_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tpserve::cli {

absl::Status RunGenerate(const std::vector<std::string>& args);
absl::Status RunInspect(const std::vector<std::string>& args);
absl::Status RunMakeRandomModel(const std::vector<std::string>& args);
absl::Status RunBench(const std::vector<std::string>& args);
absl::Status RunWorkerRank(const std::vector<std::string>& args);
absl::Status RunUp(const std::vector<std::string>& args);
absl::Status RunChat(const std::vector<std::string>& args);
absl::Status RunModels(const std::vector<std::string>& args);
absl::Status RunTokenize(const std::vector<std::string>& args);
absl::Status RunDetokenize(const std::vector<std::string>& args);

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_COMMANDS_H_
