#include "ops/base/flags.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tpserve {
namespace {

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// "in [1, 64]", ">= 0", "<= 5" or "" (any int64).
std::string RangeText(int64_t min, int64_t max) {
  constexpr int64_t kLowest = std::numeric_limits<int64_t>::min();
  constexpr int64_t kHighest = std::numeric_limits<int64_t>::max();
  if (min == kLowest && max == kHighest) return "";
  if (max == kHighest) return absl::StrCat(">= ", min);
  if (min == kLowest) return absl::StrCat("<= ", max);
  return absl::StrCat("in [", min, ", ", max, "]");
}

absl::Status Invalid(std::string_view name, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", Absl(name), ": ", Absl(what)));
}

}  // namespace

std::string FlagName(std::string_view name) { return absl::StrCat("--", Absl(name)); }

std::string FlagSpec::DefaultText(std::string_view value, std::string_view note) {
  if (!note.empty()) return absl::StrCat(": ", Absl(note));
  return value.empty() ? std::string() : absl::StrCat(" ", Absl(value));
}

FlagSpec::FlagSpec(const BoolFlag& f) : name(f.name), help(f.help) {}

FlagSpec::FlagSpec(const StringFlag& f)
    : name(f.name),
      value_name(f.value_name),
      help(f.help),
      default_text(DefaultText(f.default_value, f.default_note)) {}

FlagSpec::FlagSpec(const IntFlag& f)
    : name(f.name),
      value_name(f.value_name),
      help(f.help),
      default_text(DefaultText(absl::StrCat(f.default_value), f.default_note)) {
  // Bounds that only say "fits an int32" are no news in the usage (errors still name them).
  if (f.min != std::numeric_limits<int32_t>::min() ||
      f.max != std::numeric_limits<int32_t>::max()) {
    range_text = RangeText(f.min, f.max);
  }
}

FlagSpec::FlagSpec(const DoubleFlag& f)
    : name(f.name),
      value_name(f.value_name),
      help(f.help),
      default_text(DefaultText(absl::StrCat(f.default_value), f.default_note)) {}

FlagList Concat(FlagList a, const FlagList& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string FlagUsage(absl::Span<const FlagSpec> flags) {
  constexpr size_t kColumn = 32;  // where the help text starts
  constexpr size_t kWidth = 100;
  constexpr size_t kUnbrokenPiece = 40;
  std::string out;
  for (const FlagSpec& f : flags) {
    std::string left = absl::StrCat("  --", Absl(f.name));
    if (!f.value_name.empty()) absl::StrAppend(&left, " ", Absl(f.value_name));
    // Words of the help wrap anywhere; "(default X" and "in [A, B])" stay whole unless long.
    std::vector<std::string> words = absl::StrSplit(Absl(f.help), ' ', absl::SkipEmpty());
    auto whole = [&words](std::string piece) {
      if (piece.size() <= kUnbrokenPiece) {
        words.push_back(std::move(piece));
      } else {
        for (absl::string_view w : absl::StrSplit(piece, ' ', absl::SkipEmpty())) {
          words.emplace_back(w);
        }
      }
    };
    if (!f.default_text.empty() && !f.range_text.empty()) {
      whole(absl::StrCat("(default", f.default_text, ";"));
      whole(absl::StrCat(f.range_text, ")"));
    } else if (!f.default_text.empty()) {
      whole(absl::StrCat("(default", f.default_text, ")"));
    } else if (!f.range_text.empty()) {
      whole(absl::StrCat("(", f.range_text, ")"));
    }
    out += left;
    size_t column = left.size();
    if (column + 1 >= kColumn) {  // no room: the help starts on the next line
      out += "\n";
      column = 0;
    }
    out.append(kColumn - column, ' ');
    column = kColumn;
    bool first = true;
    for (const std::string& word : words) {
      if (!first && column + 1 + word.size() > kWidth) {
        out += "\n";
        out.append(kColumn, ' ');
        column = kColumn;
      } else if (!first) {
        out += ' ';
        ++column;
      }
      out += word;
      column += word.size();
      first = false;
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> FlagArgs(const FlagSpec& flag, std::string_view value) {
  return {FlagName(flag.name), std::string(value)};
}

absl::StatusOr<CommandLine> CommandLine::Parse(const std::vector<std::string>& argv,
                                               absl::Span<const FlagSpec> flags) {
  CommandLine cl;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      cl.help_ = true;
      return cl;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0 || arg[2] == '=') {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument ", EchoValue(arg),
                                                     " (flags are --name VALUE or --name=VALUE)"));
    }
    std::string_view name(arg);
    name.remove_prefix(2);
    std::string_view value;
    const size_t eq = name.find('=');
    const bool has_value = eq != std::string_view::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const auto spec =
        std::find_if(flags.begin(), flags.end(), [&](const FlagSpec& f) { return f.name == name; });
    if (spec == flags.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", EchoPrefix(name), " (see --help)"));
    }
    if (spec->value_name.empty()) {
      if (has_value) return Invalid(name, absl::StrCat("takes no value, got ", EchoValue(value)));
    } else if (!has_value) {
      if (i + 1 >= argv.size()) {
        return Invalid(name, absl::StrCat("missing value (", Absl(spec->value_name), ")"));
      }
      value = argv[++i];
    }
    cl.values_[std::string(name)].emplace_back(value);
  }
  return cl;
}

const std::string* CommandLine::Last(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? nullptr : &it->second.back();
}

std::string CommandLine::Get(const StringFlag& flag) const {
  const std::string* v = Last(flag.name);
  return v != nullptr ? *v : std::string(flag.default_value);
}

absl::StatusOr<int64_t> CommandLine::Get(const IntFlag& flag) const {
  const std::string* v = Last(flag.name);
  if (v == nullptr) return flag.default_value;
  int64_t n = 0;
  if (!absl::SimpleAtoi(*v, &n) || n < flag.min || n > flag.max) {
    const std::string range = RangeText(flag.min, flag.max);
    return Invalid(flag.name, absl::StrCat("must be an integer", range.empty() ? "" : " ", range,
                                           ", got ", EchoValue(*v)));
  }
  return n;
}

absl::StatusOr<double> CommandLine::Get(const DoubleFlag& flag) const {
  const std::string* v = Last(flag.name);
  if (v == nullptr) return flag.default_value;
  double d = 0;
  if (!absl::SimpleAtod(*v, &d)) {
    return Invalid(flag.name, absl::StrCat("must be a number, got ", EchoValue(*v)));
  }
  return d;
}

absl::StatusOr<std::string> CommandLine::Required(const StringFlag& flag) const {
  const std::string* v = Last(flag.name);
  if (v == nullptr || v->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing required flag --", Absl(flag.name), " ", Absl(flag.value_name)));
  }
  return *v;
}

std::vector<std::string> CommandLine::GetAll(const StringFlag& flag) const {
  auto it = values_.find(flag.name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<std::vector<int32_t>> CommandLine::GetIntList(const StringFlag& flag) const {
  std::vector<int32_t> out;
  const std::string v = Get(flag);
  for (absl::string_view part : absl::StrSplit(v, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    int32_t n = 0;
    if (!absl::SimpleAtoi(part, &n)) {
      return Invalid(flag.name, absl::StrCat(EchoValue(std::string_view(part.data(), part.size())),
                                             " is not an integer (expected e.g. 1,2,3)"));
    }
    out.push_back(n);
  }
  return out;
}

}  // namespace tpserve
