// Exception-free, typed reading of nlohmann::json objects for the config and safetensors parsers.
// Internal to tpserve_model (tests may include it).
#ifndef TPSERVE_MODEL_JSON_INTERNAL_H_
#define TPSERVE_MODEL_JSON_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace tpserve::model::internal {

using Json = nlohmann::json;

// Parses `text`; a syntax error becomes InvalidArgument "<source>: invalid JSON: <detail>".
// With `reject_duplicate_top_level_keys`, a key repeated in the top-level object is an error too
// (nlohmann would silently keep the last one).
absl::StatusOr<Json> ParseJson(std::string_view text, std::string_view source,
                               bool reject_duplicate_top_level_keys = false);

// A short rendering of a JSON value for error messages (at most ~60 characters).
std::string Excerpt(const Json& value);

// Converts a JSON integer to int64_t; nullopt for non-integers (floats, strings, ...) and for
// unsigned values above INT64_MAX.
std::optional<int64_t> AsInt64(const Json& value);

// Field access on one JSON object, with errors "<source>: <path><key> <problem>", where path is
// the dotted location of the object ("" for the root, "text_config." for a nested one).
// Missing keys and JSON null are treated alike. Every error is InvalidArgument.
class JsonFields {
 public:
  JsonFields(const Json& object, std::string source, std::string path)
      : object_(object), source_(std::move(source)), path_(std::move(path)) {}

  // nullptr when the key is absent or null.
  const Json* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  absl::StatusOr<int64_t> RequiredInt(std::string_view key) const;
  absl::StatusOr<int64_t> IntOr(std::string_view key, int64_t fallback) const;
  absl::StatusOr<std::optional<int64_t>> OptionalInt(std::string_view key) const;
  absl::StatusOr<double> RequiredNumber(std::string_view key) const;
  absl::StatusOr<double> NumberOr(std::string_view key, double fallback) const;
  absl::StatusOr<bool> BoolOr(std::string_view key, bool fallback) const;
  absl::StatusOr<std::optional<bool>> OptionalBool(std::string_view key) const;
  absl::StatusOr<std::string> StringOr(std::string_view key, std::string_view fallback) const;
  absl::StatusOr<std::optional<std::string>> OptionalString(std::string_view key) const;
  // An int or a list of ints (eos_token_id style); empty when absent/null.
  absl::StatusOr<std::vector<int64_t>> IntOrIntList(std::string_view key) const;

  // "text_config.hidden_size".
  std::string Name(std::string_view key) const;
  // InvalidArgument "<source>: <path><key> <problem>".
  absl::Status Error(std::string_view key, std::string_view problem) const;
  const std::string& source() const { return source_; }
  const std::string& path() const { return path_; }
  const Json& object() const { return object_; }

 private:
  const Json& object_;
  std::string source_;
  std::string path_;
};

}  // namespace tpserve::model::internal

#endif  // TPSERVE_MODEL_JSON_INTERNAL_H_
