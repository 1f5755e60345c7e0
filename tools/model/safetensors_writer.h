// Streams tensors into a .safetensors file: the header (with every offset computed from the
// declared shapes) is written first, then each tensor's bytes in declaration order, in as many
// chunks as the caller likes. Memory use is one small I/O buffer, whatever the model size.
//
//   ASSIGN_OR_RETURN(auto w, SafetensorsWriter::Create(path, {{"a", "F32", {2, 3}}}, {}));
//   RETURN_IF_ERROR(w->Write(data_a, 24));   // any split of the 24 bytes works
//   RETURN_IF_ERROR(w->Finish());            // checks that every byte arrived, closes the file
//
// The header keeps the declared order (deterministic bytes), optional "__metadata__" first, and
// is padded with spaces to a multiple of 8 bytes so the data section is 8-byte aligned.
// Not thread-safe. A writer destroyed before Finish() leaves a partial file behind.
#ifndef TPSERVE_TOOLS_MODEL_SAFETENSORS_WRITER_H_
#define TPSERVE_TOOLS_MODEL_SAFETENSORS_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tpserve::tools {

struct SafetensorsTensorDecl {
  std::string name;
  std::string dtype;  // safetensors spelling: "F32", "BF16", ...
  std::vector<int64_t> shape;
};

class SafetensorsWriter {
 public:
  // InvalidArgument for an unknown dtype, a negative dim, a duplicate or reserved name.
  static absl::StatusOr<std::unique_ptr<SafetensorsWriter>> Create(
      const std::string& path, std::vector<SafetensorsTensorDecl> tensors,
      const std::map<std::string, std::string>& metadata);
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Appends data bytes (they may span tensor boundaries). FailedPrecondition when more bytes
  // arrive than the declared tensors hold.
  absl::Status Write(const void* data, size_t bytes);
  // FailedPrecondition unless exactly the declared bytes were written; then flushes and closes.
  absl::Status Finish();

  // Bytes the data section needs in total, and how many are still expected.
  size_t data_bytes() const { return data_bytes_; }
  size_t remaining_bytes() const { return data_bytes_ - written_; }

  // Header JSON (padded) for `tensors` and `metadata`, as Create would write it.
  static absl::StatusOr<std::string> BuildHeader(const std::vector<SafetensorsTensorDecl>& tensors,
                                                 const std::map<std::string, std::string>& metadata,
                                                 size_t* data_bytes);

 private:
  SafetensorsWriter() = default;
  absl::Status IoError(const char* what) const;

  std::string path_;
  std::FILE* file_ = nullptr;
  size_t data_bytes_ = 0;
  size_t written_ = 0;
};

// A tensor with its bytes in memory, for small files (tests, fixtures).
struct SafetensorsTensorData {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;  // exactly the element count times the dtype size
};

absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<SafetensorsTensorData>& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace tpserve::tools

#endif  // TPSERVE_TOOLS_MODEL_SAFETENSORS_WRITER_H_
