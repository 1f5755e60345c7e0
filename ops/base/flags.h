// Command-line flags: the one parser of every tpserve binary (tpserve-coordinator, tpserve-worker
// and the tpserve CLI's subcommands).
//
// A flag is defined once, as a constant holding its name, value name, help line, default and
// bounds; flags that several binaries take live next to what they configure (proto/cluster_flags.h,
// worker/rank_flags.h). A command lists the flags it accepts, parses its arguments against that
// list and reads typed values through the same constants; its usage text is made from the list.
//
//   inline constexpr IntFlag kMaxSlotsFlag{.name = "max-slots", .value_name = "N",
//                                          .help = "concurrent sequences", .default_value = 8,
//                                          .min = 1, .max = 4096};
//   const FlagList flags = {kModelFlag, kMaxSlotsFlag, kJsonFlag};
//   TPS_ASSIGN_OR_RETURN(CommandLine cl, CommandLine::Parse(argv, flags));
//   if (cl.help()) { std::fputs(FlagUsage(flags).c_str(), stdout); ... }
//   TPS_ASSIGN_OR_RETURN(int64_t slots, cl.Get(kMaxSlotsFlag));
//
// Spellings: `--name value`, `--name=value`, a boolean `--name`, and `--help` / `-h` (always
// accepted; parsing stops there). Every error is InvalidArgument and names the flag: an unknown
// flag, a missing value, a value given to a boolean flag, a malformed number, a value out of
// bounds (with the allowed range) and a choice not among the accepted ones. A bad value is echoed
// as at most its first kMaxEchoedValueBytes bytes (EchoValue).
#ifndef TPSERVE_OPS_BASE_FLAGS_H_
#define TPSERVE_OPS_BASE_FLAGS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ops/base/echo.h"  // EchoValue, kMaxEchoedValueBytes

namespace tpserve {

// "--name".
std::string FlagName(std::string_view name);

struct BoolFlag {
  std::string_view name;  // without the leading "--"
  std::string_view help;
};

struct StringFlag {
  std::string_view name;
  std::string_view value_name;  // "FILE", "HOST:PORT"
  std::string_view help;
  std::string_view default_value = {};
  std::string_view default_note = {};  // the usage shows it instead of default_value

  // The same flag with another default, for a binary whose default differs (a listen address).
  constexpr StringFlag WithDefault(std::string_view value, std::string_view note = {}) const {
    StringFlag f = *this;
    f.default_value = value;
    f.default_note = note;
    return f;
  }
};

// An integer in [min, max].
struct IntFlag {
  std::string_view name;
  std::string_view value_name;  // "N", "MS"
  std::string_view help;
  int64_t default_value = 0;
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  std::string_view default_note = {};  // the usage shows it instead of default_value

  // The same flag (bounds included) with another default, for a command whose default differs;
  // `note` says it in the usage when it is not a plain number ("all cores").
  constexpr IntFlag WithDefault(int64_t value, std::string_view note = {}) const {
    IntFlag f = *this;
    f.default_value = value;
    f.default_note = note;
    return f;
  }
};

// A number (absl::SimpleAtod: "0.5", "1e-3"). Its bounds belong to whatever the value configures
// (e.g. the sampling parameters: ops/base/sampling_bounds.h).
struct DoubleFlag {
  std::string_view name;
  std::string_view value_name;
  std::string_view help;
  double default_value = 0;
  std::string_view default_note = {};  // the usage shows it instead of default_value

  constexpr DoubleFlag WithDefault(double value, std::string_view note = {}) const {
    DoubleFlag f = *this;
    f.default_value = value;
    f.default_note = note;
    return f;
  }
};

// One of a few words, parsed into a T by `parse` (an enum: worker::ParseTransport, ...). `parse`
// gets the flag's "--name" for its error message.
template <typename T>
struct ChoiceFlag {
  std::string_view name;
  std::string_view value_name;  // the choices, "shm|gloo"
  std::string_view help;
  std::string_view default_value;  // parsed like a given value
  absl::StatusOr<T> (*parse)(std::string_view text, std::string_view flag) = nullptr;
  std::string_view default_note = {};  // the usage shows it instead of default_value
};

// What the parser and the usage text need of a flag of any type.
struct FlagSpec {
  FlagSpec(const BoolFlag& f);    // NOLINT: implicit, so a FlagList is written {kA, kB, ...}
  FlagSpec(const StringFlag& f);  // NOLINT
  FlagSpec(const IntFlag& f);     // NOLINT
  FlagSpec(const DoubleFlag& f);  // NOLINT
  template <typename T>
  FlagSpec(const ChoiceFlag<T>& f)  // NOLINT
      : name(f.name),
        value_name(f.value_name),
        help(f.help),
        default_text(DefaultText(f.default_value, f.default_note)) {}

  // " value", ": note" (a note wins) or "" (neither).
  static std::string DefaultText(std::string_view value, std::string_view note);

  std::string_view name;
  std::string_view value_name;  // empty: a boolean flag
  std::string_view help;
  std::string default_text;  // follows "(default" in the usage: DefaultText()
  std::string range_text;    // an IntFlag's bounds, "in [1, 64]" or ">= 0"; empty: none
};

using FlagList = std::vector<FlagSpec>;

// `a` followed by the flags of `b`.
FlagList Concat(FlagList a, const FlagList& b);

// One line per flag, "  --name VALUE" then its help and "(default ...)", wrapped at 100 columns.
std::string FlagUsage(absl::Span<const FlagSpec> flags);

// {"--name", "value"}: the arguments that give `flag` that value on another process's command
// line (tpserve up starting workers, a local group starting its members).
std::vector<std::string> FlagArgs(const FlagSpec& flag, std::string_view value);

// The flags of one command line, parsed against the list of flags the command accepts.
class CommandLine {
 public:
  // `argv` excludes the program (and subcommand) name.
  static absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& argv,
                                           absl::Span<const FlagSpec> flags);

  // --help or -h was given (the arguments after it were not looked at).
  bool help() const { return help_; }

  // Whether the flag was given.
  bool Has(std::string_view name) const { return values_.count(name) > 0; }
  template <typename Flag>
  bool Has(const Flag& flag) const {
    return Has(flag.name);
  }

  bool Get(const BoolFlag& flag) const { return Has(flag.name); }
  // The last value given, else the default.
  std::string Get(const StringFlag& flag) const;
  absl::StatusOr<int64_t> Get(const IntFlag& flag) const;
  absl::StatusOr<double> Get(const DoubleFlag& flag) const;
  template <typename T>
  absl::StatusOr<T> Get(const ChoiceFlag<T>& flag) const {
    const std::string* v = Last(flag.name);
    return flag.parse(v != nullptr ? std::string_view(*v) : flag.default_value,
                      FlagName(flag.name));
  }

  // The value; InvalidArgument "missing required flag --name VALUE" when absent or empty.
  absl::StatusOr<std::string> Required(const StringFlag& flag) const;
  // Every value of a repeatable flag, in order (Get() returns the last).
  std::vector<std::string> GetAll(const StringFlag& flag) const;
  // The value (else the default) as comma-separated integers ("1,2,3"; blanks around entries and
  // empty entries skipped).
  absl::StatusOr<std::vector<int32_t>> GetIntList(const StringFlag& flag) const;

 private:
  const std::string* Last(std::string_view name) const;

  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  bool help_ = false;
};

}  // namespace tpserve

#endif  // TPSERVE_OPS_BASE_FLAGS_H_
