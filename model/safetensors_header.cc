// Validation of the safetensors header: everything in it is untrusted.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/json_internal.h"
#include "model/safetensors.h"
#include "model/safetensors_internal.h"
#include "ops/base/status_macros.h"

namespace tpserve::model {
namespace {

struct DTypeRow {
  std::string_view name;
  size_t size;
  std::optional<DType> dtype;
};

constexpr DTypeRow kDTypes[] = {
    {"F64", 8, std::nullopt},  {"F32", 4, DType::kF32},      {"F16", 2, DType::kF16},
    {"BF16", 2, DType::kBF16}, {"I64", 8, DType::kI64},      {"I32", 4, DType::kI32},
    {"I16", 2, std::nullopt},  {"I8", 1, std::nullopt},      {"U8", 1, DType::kU8},
    {"U16", 2, std::nullopt},  {"U32", 4, std::nullopt},     {"U64", 8, std::nullopt},
    {"BOOL", 1, std::nullopt}, {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
};

constexpr size_t kMaxRank = 16;
constexpr size_t kMaxNameInMessage = 160;

const DTypeRow* FindDType(std::string_view name) {
  for (const DTypeRow& row : kDTypes) {
    if (row.name == name) return &row;
  }
  return nullptr;
}

// Hostile names can be huge; messages carry at most kMaxNameInMessage bytes of them.
std::string Shorten(const std::string& name) {
  if (name.size() <= kMaxNameInMessage) return name;
  return name.substr(0, kMaxNameInMessage) + "...";
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

std::optional<size_t> SafetensorsDTypeSize(std::string_view name) {
  const DTypeRow* row = FindDType(name);
  return row == nullptr ? std::nullopt : std::optional<size_t>(row->size);
}

std::optional<DType> SafetensorsToDType(std::string_view name) {
  const DTypeRow* row = FindDType(name);
  return row == nullptr ? std::nullopt : row->dtype;
}

std::string_view DTypeToSafetensors(DType dtype) {
  for (const DTypeRow& row : kDTypes) {
    if (row.dtype == dtype) return row.name;
  }
  return "?";
}

int64_t TensorInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<DType> TensorInfo::RequireDType() const {
  if (dtype.has_value()) return *dtype;
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": tensor '", Shorten(name), "': dtype ", raw_dtype, " is not supported"));
}

std::string TensorInfo::Describe() const { return absl::StrCat(raw_dtype, ShapeString(shape)); }

namespace internal {

absl::StatusOr<ParsedHeader> ParseSafetensorsHeader(
    const std::byte* bytes, size_t size, std::string_view source_view,
    const std::vector<std::string>& ignored_prefixes, size_t max_header_bytes) {
  const std::string source(source_view);
  auto error = [&source](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", parts...));
  };
  if (size == 0) return error("file is empty");
  if (size < 8) return error("file is ", size, " bytes, too small for the 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) {
    header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  }
  if (header_len > size - 8) {
    return error("header length ", header_len, " exceeds the ", size - 8,
                 " bytes that follow it (truncated or not a safetensors file)");
  }
  if (header_len > max_header_bytes) {
    return error("header length ", header_len, " exceeds the limit of ", max_header_bytes,
                 " bytes");
  }
  if (header_len < 2) return error("header length ", header_len, " is too small for a JSON object");

  ParsedHeader out;
  out.data_offset = 8 + static_cast<size_t>(header_len);
  const size_t data_size = size - out.data_offset;
  const std::string_view text(reinterpret_cast<const char*>(bytes) + 8,
                              static_cast<size_t>(header_len));
  TPS_ASSIGN_OR_RETURN(internal::Json header,
                       internal::ParseJson(text, absl::StrCat(source, ": header"),
                                           /*reject_duplicate_top_level_keys=*/true));
  if (!header.is_object()) return error("header must be a JSON object, got ", header.type_name());

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) return error("__metadata__ must be an object of strings");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) {
          return error("__metadata__['", Shorten(k), "'] must be a string, got ",
                       internal::Excerpt(v));
        }
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (std::any_of(ignored_prefixes.begin(), ignored_prefixes.end(),
                    [&](const std::string& p) { return name.rfind(p, 0) == 0; })) {
      continue;
    }
    const std::string where = absl::StrCat("tensor '", Shorten(name), "': ");
    if (!value.is_object()) return error(where, "entry must be an object");
    HeaderEntry e;
    e.name = name;

    auto dtype_it = value.find("dtype");
    if (dtype_it == value.end() || !dtype_it->is_string()) {
      return error(where, "dtype is missing or not a string");
    }
    e.raw_dtype = dtype_it->get<std::string>();
    const std::optional<size_t> elem_size = SafetensorsDTypeSize(e.raw_dtype);
    if (!elem_size.has_value()) {
      return error(where, "unknown dtype ", internal::Excerpt(*dtype_it));
    }

    auto shape_it = value.find("shape");
    if (shape_it == value.end() || !shape_it->is_array()) {
      return error(where, "shape is missing or not a list");
    }
    if (shape_it->size() > kMaxRank) {
      return error(where, "shape has ", shape_it->size(), " dims (at most ", kMaxRank, ")");
    }
    uint64_t num_elements = 1;
    bool overflow = false;
    for (const internal::Json& d : *shape_it) {
      std::optional<int64_t> dim = internal::AsInt64(d);
      if (!dim.has_value() || *dim < 0) {
        return error(where, "shape ", internal::Excerpt(*shape_it),
                     " must hold non-negative integers");
      }
      e.shape.push_back(*dim);
      overflow |= __builtin_mul_overflow(num_elements, static_cast<uint64_t>(*dim), &num_elements);
    }
    uint64_t need = 0;
    overflow |= __builtin_mul_overflow(num_elements, static_cast<uint64_t>(*elem_size), &need);
    if (overflow || num_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return error(where, "shape ", ShapeString(e.shape), " is too large");
    }

    auto offsets_it = value.find("data_offsets");
    if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
      return error(where, "data_offsets must be a list [begin, end]");
    }
    const std::optional<int64_t> begin = internal::AsInt64((*offsets_it)[0]);
    const std::optional<int64_t> end = internal::AsInt64((*offsets_it)[1]);
    if (!begin.has_value() || !end.has_value() || *begin < 0 || *end < *begin) {
      return error(where, "data_offsets ", internal::Excerpt(*offsets_it),
                   " must be integers with 0 <= begin <= end");
    }
    e.begin = static_cast<size_t>(*begin);
    e.end = static_cast<size_t>(*end);
    if (e.end > data_size) {
      return error(where, "data_offsets [", e.begin, ", ", e.end, "] run past the end of the ",
                   data_size, "-byte data section");
    }
    if (e.end - e.begin != need) {
      return error(where, "data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin,
                   " bytes but ", e.raw_dtype, ShapeString(e.shape), " needs ", need);
    }
    out.tensors.push_back(std::move(e));
  }

  // No two tensors may share bytes (empty tensors occupy nothing).
  std::vector<const HeaderEntry*> by_offset;
  for (const HeaderEntry& e : out.tensors) {
    if (e.end > e.begin) by_offset.push_back(&e);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const HeaderEntry* a, const HeaderEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const HeaderEntry& a = *by_offset[i - 1];
    const HeaderEntry& b = *by_offset[i];
    if (b.begin < a.end) {
      return error("tensors '", Shorten(a.name), "' [", a.begin, ", ", a.end, "] and '",
                   Shorten(b.name), "' [", b.begin, ", ", b.end, "] overlap");
    }
  }
  return out;
}

}  // namespace internal
}  // namespace tpserve::model
