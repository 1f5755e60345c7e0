#include "coordinator/tokenizer/json_fields.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "coordinator/tokenizer/absl_compat.h"

namespace tpserve::tokenizer {
namespace {

const char* TypeName(const nlohmann::json& v) { return v.type_name(); }

}  // namespace

std::string JoinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(std::string(path), ".", std::string(key));
}

const nlohmann::json* FindField(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

absl::StatusOr<std::string> StringField(const nlohmann::json& obj, std::string_view key,
                                        std::string_view path) {
  const nlohmann::json* v = FindField(obj, key);
  if (v == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(JoinPath(path, key), ": missing"));
  if (!v->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(JoinPath(path, key), ": expected a string, got ", TypeName(*v)));
  }
  return v->get<std::string>();
}

absl::StatusOr<const nlohmann::json*> ObjectField(const nlohmann::json& obj, std::string_view key,
                                                  std::string_view path) {
  const nlohmann::json* v = FindField(obj, key);
  if (v == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(JoinPath(path, key), ": missing"));
  if (!v->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(JoinPath(path, key), ": expected an object, got ", TypeName(*v)));
  }
  return v;
}

absl::StatusOr<const nlohmann::json*> ArrayField(const nlohmann::json& obj, std::string_view key,
                                                 std::string_view path) {
  const nlohmann::json* v = FindField(obj, key);
  if (v == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(JoinPath(path, key), ": missing"));
  if (!v->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(JoinPath(path, key), ": expected an array, got ", TypeName(*v)));
  }
  return v;
}

absl::StatusOr<bool> BoolField(const nlohmann::json& obj, std::string_view key, bool fallback,
                               std::string_view path) {
  const nlohmann::json* v = FindField(obj, key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_boolean()) {
    return absl::InvalidArgumentError(
        absl::StrCat(JoinPath(path, key), ": expected true or false, got ", TypeName(*v)));
  }
  return v->get<bool>();
}

absl::StatusOr<std::string> OptionalStringField(const nlohmann::json& obj, std::string_view key,
                                                std::string_view path) {
  const nlohmann::json* v = FindField(obj, key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(JoinPath(path, key), ": expected a string or null, got ", TypeName(*v)));
  }
  return v->get<std::string>();
}

}  // namespace tpserve::tokenizer
