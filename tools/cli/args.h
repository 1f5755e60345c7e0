// Command-line flags of one tpserve subcommand: `--name value`, `--name=value` and boolean
// `--name`. Unknown flags, missing values and malformed numbers are errors that name the flag.
#ifndef TPSERVE_TOOLS_CLI_ARGS_H_
#define TPSERVE_TOOLS_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tpserve::cli {

class Args {
 public:
  // `value_flags` take a value; `bool_flags` do not.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv,
                                    const std::set<std::string>& value_flags,
                                    const std::set<std::string>& bool_flags);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  bool Bool(const std::string& name) const { return Has(name); }
  absl::StatusOr<std::string> Required(const std::string& name) const;
  std::string String(const std::string& name, const std::string& fallback) const;
  absl::StatusOr<int64_t> Int(const std::string& name, int64_t fallback) const;
  absl::StatusOr<double> Double(const std::string& name, double fallback) const;
  // Comma-separated integers, e.g. "1,2,3".
  absl::StatusOr<std::vector<int32_t>> IntList(const std::string& name) const;
  // Every value of a repeatable flag, in order (String() returns the last).
  std::vector<std::string> Strings(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
};

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_ARGS_H_
