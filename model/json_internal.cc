#include "model/json_internal.h"

#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tpserve::model::internal {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

const char* TypeName(const Json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number_float()) return "a number";
  return v.type_name();
}

}  // namespace

absl::StatusOr<Json> ParseJson(std::string_view text, std::string_view source,
                               bool reject_duplicate_top_level_keys) {
  // nlohmann reports syntax errors by throwing; catch here and convert (no exception escapes).
  std::set<std::string> seen;
  std::string duplicate;
  Json::parser_callback_t callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (reject_duplicate_top_level_keys && depth == 1 && event == Json::parse_event_t::key &&
        parsed.is_string() && duplicate.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  Json result;
  try {
    result = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                         /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(source), ": invalid JSON: ", e.what()));
  }
  if (!duplicate.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(source), ": key '", duplicate, "' appears more than once"));
  }
  return result;
}

std::string Excerpt(const Json& value) {
  // dump() recurses; only flat values are rendered so a hostile, deeply nested value cannot
  // exhaust the stack here.
  if (value.is_structured()) {
    for (const Json& item : value) {
      if (item.is_structured()) return value.is_array() ? "[...]" : "{...}";
    }
  }
  std::string s = value.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
  constexpr size_t kMax = 60;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::optional<int64_t> AsInt64(const Json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return std::nullopt;
}

const Json* JsonFields::Find(std::string_view key) const {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(std::string(key));
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string JsonFields::Name(std::string_view key) const {
  return absl::StrCat(path_, AbslView(key));
}

absl::Status JsonFields::Error(std::string_view key, std::string_view problem) const {
  return absl::InvalidArgumentError(absl::StrCat(source_, ": ", Name(key), " ", AbslView(problem)));
}

absl::StatusOr<std::optional<int64_t>> JsonFields::OptionalInt(std::string_view key) const {
  const Json* v = Find(key);
  if (v == nullptr) return std::optional<int64_t>();
  std::optional<int64_t> i = AsInt64(*v);
  if (!i.has_value() && v->is_number_unsigned()) {
    return Error(key, absl::StrCat("is out of range: ", Excerpt(*v)));
  }
  if (!i.has_value()) {
    return Error(key, absl::StrCat("must be an integer, got ", TypeName(*v), " ", Excerpt(*v)));
  }
  return i;
}

absl::StatusOr<int64_t> JsonFields::RequiredInt(std::string_view key) const {
  absl::StatusOr<std::optional<int64_t>> v = OptionalInt(key);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return Error(key, "is missing (required)");
  return **v;
}

absl::StatusOr<int64_t> JsonFields::IntOr(std::string_view key, int64_t fallback) const {
  absl::StatusOr<std::optional<int64_t>> v = OptionalInt(key);
  if (!v.ok()) return v.status();
  return v->value_or(fallback);
}

absl::StatusOr<double> JsonFields::NumberOr(std::string_view key, double fallback) const {
  const Json* v = Find(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) {
    return Error(key, absl::StrCat("must be a number, got ", TypeName(*v), " ", Excerpt(*v)));
  }
  const double d = v->get<double>();
  if (!std::isfinite(d)) return Error(key, "must be finite");
  return d;
}

absl::StatusOr<double> JsonFields::RequiredNumber(std::string_view key) const {
  if (Find(key) == nullptr) return Error(key, "is missing (required)");
  return NumberOr(key, 0.0);
}

absl::StatusOr<std::optional<bool>> JsonFields::OptionalBool(std::string_view key) const {
  const Json* v = Find(key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) {
    return Error(key, absl::StrCat("must be true or false, got ", TypeName(*v), " ", Excerpt(*v)));
  }
  return std::optional<bool>(v->get<bool>());
}

absl::StatusOr<bool> JsonFields::BoolOr(std::string_view key, bool fallback) const {
  absl::StatusOr<std::optional<bool>> v = OptionalBool(key);
  if (!v.ok()) return v.status();
  return v->value_or(fallback);
}

absl::StatusOr<std::optional<std::string>> JsonFields::OptionalString(std::string_view key) const {
  const Json* v = Find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) {
    return Error(key, absl::StrCat("must be a string, got ", TypeName(*v), " ", Excerpt(*v)));
  }
  return std::optional<std::string>(v->get<std::string>());
}

absl::StatusOr<std::string> JsonFields::StringOr(std::string_view key,
                                                 std::string_view fallback) const {
  absl::StatusOr<std::optional<std::string>> v = OptionalString(key);
  if (!v.ok()) return v.status();
  return v->has_value() ? **v : std::string(fallback);
}

absl::StatusOr<std::vector<int64_t>> JsonFields::IntOrIntList(std::string_view key) const {
  const Json* v = Find(key);
  std::vector<int64_t> out;
  if (v == nullptr) return out;
  if (std::optional<int64_t> single = AsInt64(*v); single.has_value()) {
    out.push_back(*single);
    return out;
  }
  if (!v->is_array()) {
    return Error(key, absl::StrCat("must be an integer or a list of integers, got ", Excerpt(*v)));
  }
  for (size_t i = 0; i < v->size(); ++i) {
    std::optional<int64_t> item = AsInt64((*v)[i]);
    if (!item.has_value()) {
      return Error(key, absl::StrCat("[", i, "] must be an integer, got ", Excerpt((*v)[i])));
    }
    out.push_back(*item);
  }
  return out;
}

}  // namespace tpserve::model::internal
