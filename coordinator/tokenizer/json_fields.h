// Typed field access on parsed tokenizer.json objects. Every error is InvalidArgument naming the
// JSON path of the field and what was expected, e.g. "model.merges[12]: expected a string or a
// [left, right] pair". Nothing here throws.
#ifndef TPSERVE_COORDINATOR_TOKENIZER_JSON_FIELDS_H_
#define TPSERVE_COORDINATOR_TOKENIZER_JSON_FIELDS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tpserve::tokenizer {

// `obj[key]`, or nullptr when `obj` has no such key. `obj` must be an object.
const nlohmann::json* FindField(const nlohmann::json& obj, std::string_view key);

// Required fields of a given type. `path` names `obj` in error messages.
absl::StatusOr<std::string> StringField(const nlohmann::json& obj, std::string_view key,
                                        std::string_view path);
absl::StatusOr<const nlohmann::json*> ObjectField(const nlohmann::json& obj, std::string_view key,
                                                  std::string_view path);
absl::StatusOr<const nlohmann::json*> ArrayField(const nlohmann::json& obj, std::string_view key,
                                                 std::string_view path);

// Optional fields: `fallback` when absent or null; an error when present with another type.
absl::StatusOr<bool> BoolField(const nlohmann::json& obj, std::string_view key, bool fallback,
                               std::string_view path);
absl::StatusOr<std::string> OptionalStringField(const nlohmann::json& obj, std::string_view key,
                                                std::string_view path);

// "path.key" for messages.
std::string JoinPath(std::string_view path, std::string_view key);

}  // namespace tpserve::tokenizer

#endif  // TPSERVE_COORDINATOR_TOKENIZER_JSON_FIELDS_H_
