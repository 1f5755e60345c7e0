// A Hugging Face model directory's weights: one `model.safetensors`, or shards listed by
// `model.safetensors.index.json` ({"weight_map": {tensor name: file name}}). Each file is mapped
// once; tensors are looked up by name and read in slices (tensor_slice.h; zero-copy views for a
// backend: shard/mapped_view.h), so a tensor-parallel rank touches only its own bytes.
//
// Names starting with "mtp." (the speculative multi-token-prediction head) are skipped entirely:
// not listed, not validated beyond the JSON header, not required to exist.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(dir));
//   ASSIGN_OR_RETURN(TensorInfo head, ckpt->Find("lm_head.weight"));
//   std::vector<uint16_t> cols(rows_out * 512);
//   RETURN_IF_ERROR(ckpt->CopyColumnSlice(name, 512, 1024, DType::kBF16, cols.data(),
//                                         cols.size() * 2));
//
// Lifetime: views and TensorInfos keep their file mapped even after the Checkpoint is destroyed.
// Thread-safety: immutable after Open; const methods may be called concurrently.
#ifndef TPSERVE_MODEL_CHECKPOINT_H_
#define TPSERVE_MODEL_CHECKPOINT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/safetensors.h"
#include "model/tensor_slice.h"
#include "ops/base/dtype.h"

namespace tpserve::model {

inline constexpr std::string_view kSingleWeightsFile = "model.safetensors";
inline constexpr std::string_view kWeightsIndexFile = "model.safetensors.index.json";

class Checkpoint {
 public:
  // Opens `model_dir`/model.safetensors when present (as transformers does), else the index and
  // every file it names. NotFound when neither exists or a listed file is missing;
  // InvalidArgument for a malformed index or file, or a tensor listed in the index but absent
  // from its file.
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(const std::string& model_dir);

  const std::string& dir() const { return dir_; }
  bool sharded() const { return sharded_; }
  const std::vector<std::shared_ptr<const SafetensorsFile>>& files() const { return files_; }

  size_t num_tensors() const { return index_.size(); }
  bool Contains(std::string_view name) const;
  // NotFound "tensor 'x' is not in checkpoint <dir>".
  absl::StatusOr<TensorInfo> Find(std::string_view name) const;
  std::vector<std::string> TensorNames() const;  // sorted
  // Sum of the byte sizes of all listed tensors.
  size_t total_tensor_bytes() const;

  // Columns [begin, end) of a 2-D tensor (the input-feature split of a row-parallel weight),
  // copied into `dst` as [rows, end - begin] of `dst_dtype`.
  absl::Status CopyColumnSlice(std::string_view name, int64_t begin, int64_t end, DType dst_dtype,
                               void* dst, size_t dst_bytes) const;
  // [begin, end) along any dim; see CopyTensorSlice.
  absl::Status CopySlice(std::string_view name, int dim, int64_t begin, int64_t end,
                         DType dst_dtype, void* dst, size_t dst_bytes) const;

 private:
  Checkpoint() = default;
  absl::Status OpenSingle();
  absl::Status OpenSharded(const std::string& index_path);

  std::string dir_;
  bool sharded_ = false;
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, size_t, std::less<>> index_;  // tensor name -> files_ index
};

}  // namespace tpserve::model

#endif  // TPSERVE_MODEL_CHECKPOINT_H_
