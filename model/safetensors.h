// Read-only access to one .safetensors file (https://github.com/huggingface/safetensors format:
// 8-byte little-endian header length N, N bytes of JSON header, then the data section).
//
// The file is mapped read-only (MAP_PRIVATE) and the header is validated completely before any
// tensor is handed out: header size, JSON shape, known dtypes, shapes without overflow, offsets
// inside the data section, byte sizes that match the shapes, no two tensors overlapping. Files are
// untrusted input: every problem is an InvalidArgument naming the file and the tensor, never a
// crash or an out-of-bounds read. (A file truncated by another process *after* it was mapped can
// still raise SIGBUS on access; model files are expected to be immutable while served.)
//
// Lifetime: a SafetensorsFile is always owned by a shared_ptr. Each TensorInfo holds a reference,
// so the mapping lives as long as any TensorInfo (or shard::MappedTensorView) from it.
// Thread-safety: immutable after Open; all methods are const and safe to call concurrently.
#ifndef TPSERVE_MODEL_SAFETENSORS_H_
#define TPSERVE_MODEL_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ops/base/dtype.h"

namespace tpserve::model {

class SafetensorsFile;

// Bytes per element of a safetensors dtype name ("F32", "BF16", "F8_E4M3", "BOOL", ...), or
// nullopt for a name the format does not define.
std::optional<size_t> SafetensorsDTypeSize(std::string_view name);
// The engine DType of a safetensors dtype name: F32, F16, BF16, I32, I64, U8 map; others nullopt.
std::optional<DType> SafetensorsToDType(std::string_view name);
// "F32", "F16", "BF16", "I32", "I64", "U8".
std::string_view DTypeToSafetensors(DType dtype);

// One tensor of a mapped file. Cheap to copy (a name, a shape and a shared_ptr).
struct TensorInfo {
  std::string name;
  std::string raw_dtype;            // as written in the header: "BF16", "F8_E4M3", ...
  std::optional<DType> dtype;       // set when raw_dtype maps to an engine DType
  std::vector<int64_t> shape;       // dim 0 outermost; may be empty (a scalar)
  const std::byte* data = nullptr;  // first byte, inside the read-only mapping
  size_t byte_size = 0;
  std::string file;                              // path of the file that holds the tensor
  std::shared_ptr<const SafetensorsFile> owner;  // keeps `data` mapped

  int64_t num_elements() const;
  // `dtype`, or InvalidArgument "<file>: tensor '<name>': dtype F64 is not supported".
  absl::StatusOr<DType> RequireDType() const;
  // "BF16[6, 8]".
  std::string Describe() const;
};

class SafetensorsFile : public std::enable_shared_from_this<SafetensorsFile> {
 public:
  struct Options {
    // Tensors whose names start with one of these are not listed and not validated beyond the
    // JSON header (Checkpoint passes {"mtp."}).
    std::vector<std::string> ignored_prefixes;
    size_t max_header_bytes = 100'000'000;
  };

  static absl::StatusOr<std::shared_ptr<const SafetensorsFile>> Open(const std::string& path);
  static absl::StatusOr<std::shared_ptr<const SafetensorsFile>> Open(const std::string& path,
                                                                     const Options& options);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  size_t file_size() const { return size_; }
  // The optional "__metadata__" string map.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  size_t num_tensors() const { return tensors_.size(); }
  bool Contains(std::string_view name) const;
  // NotFound "<file>: no tensor 'x'" when absent.
  absl::StatusOr<TensorInfo> Find(std::string_view name) const;
  std::vector<std::string> TensorNames() const;  // sorted

 private:
  struct Entry {
    std::string raw_dtype;
    std::vector<int64_t> shape;
    size_t offset = 0;  // from the start of the file
    size_t byte_size = 0;
  };
  SafetensorsFile() = default;

  std::string path_;
  const std::byte* base_ = nullptr;  // the whole file, mapped read-only
  size_t size_ = 0;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, Entry, std::less<>> tensors_;
};

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_SAFETENSORS_H_
