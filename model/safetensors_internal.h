// Validation of a safetensors header held in memory (no file access), used by SafetensorsFile and
// by tests. Internal to tpserve_model.
#ifndef TPSERVE_MODEL_SAFETENSORS_INTERNAL_H_
#define TPSERVE_MODEL_SAFETENSORS_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tpserve::model::internal {

struct HeaderEntry {
  std::string name;
  std::string raw_dtype;
  std::vector<int64_t> shape;
  size_t begin = 0;  // data_offsets, relative to the data section
  size_t end = 0;
};

struct ParsedHeader {
  size_t data_offset = 0;  // 8 + header length: where the data section starts in the file
  std::map<std::string, std::string> metadata;
  std::vector<HeaderEntry> tensors;  // header order, ignored prefixes dropped
};

// Validates the first `size` bytes of a file (`bytes` may be null when size is 0). Every failure
// is InvalidArgument "<source>: ...".
absl::StatusOr<ParsedHeader> ParseSafetensorsHeader(
    const std::byte* bytes, size_t size, std::string_view source,
    const std::vector<std::string>& ignored_prefixes, size_t max_header_bytes);

}  // namespace tpserve::model::internal

#endif  // TPSERVE_MODEL_SAFETENSORS_INTERNAL_H_
