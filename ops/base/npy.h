// Minimal NumPy .npy (format 1.0/2.0) reading and writing for little-endian float32 / int32
// C-order arrays: `tpserve generate --logits-out` and the golden tests use it.
#ifndef TPSERVE_OPS_BASE_NPY_H_
#define TPSERVE_OPS_BASE_NPY_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tpserve {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // float32 arrays only (int32 arrays are converted)
};

absl::StatusOr<NpyArray> ReadNpy(const std::string& path);

// Streams a float32 array of shape [rows, cols] whose rows arrive one block at a time:
//   NpyWriter w; w.Open(path, cols); w.AppendRows(ptr, n); ...; w.Close();
// Close() rewrites the header with the final row count.
class NpyWriter {
 public:
  NpyWriter() = default;
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;

  absl::Status Open(const std::string& path, int64_t cols);
  absl::Status AppendRows(const float* data, int64_t rows);
  absl::Status Close();
  int64_t rows() const { return rows_; }

 private:
  absl::Status WriteHeader();

  std::FILE* file_ = nullptr;
  std::string path_;
  int64_t cols_ = 0;
  int64_t rows_ = 0;
};

}  // namespace tpserve

#endif  // TPSERVE_OPS_BASE_NPY_H_
