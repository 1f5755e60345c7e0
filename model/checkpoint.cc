#include "model/checkpoint.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/json_internal.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"

namespace tpserve::model {
namespace {

constexpr std::string_view kIgnoredPrefix = "mtp.";
constexpr size_t kMaxIndexBytes = 100'000'000;

bool IsIgnored(std::string_view name) { return name.rfind(kIgnoredPrefix, 0) == 0; }

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

SafetensorsFile::Options FileOptions() {
  SafetensorsFile::Options options;
  options.ignored_prefixes = {std::string(kIgnoredPrefix)};
  return options;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const std::streamoff size = in.tellg();
  if (size < 0) return absl::DataLossError(absl::StrCat("cannot read ", path));
  if (static_cast<size_t>(size) > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", size, " bytes exceeds the limit of ", max_bytes));
  }
  std::string text(static_cast<size_t>(size), '\0');
  in.seekg(0);
  in.read(text.data(), size);
  if (!in) return absl::DataLossError(absl::StrCat("error reading ", path));
  return text;
}

// A shard must be a plain file name inside the model directory (no path traversal).
bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& model_dir) {
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir_ = model_dir;
  const std::string single = absl::StrCat(model_dir, "/", std::string(kSingleWeightsFile));
  const std::string index = absl::StrCat(model_dir, "/", std::string(kWeightsIndexFile));
  if (FileExists(single)) {
    TPS_RETURN_IF_ERROR(ckpt->OpenSingle());
  } else if (FileExists(index)) {
    TPS_RETURN_IF_ERROR(ckpt->OpenSharded(index));
  } else {
    return absl::NotFoundError(absl::StrCat("no ", std::string(kSingleWeightsFile), " or ",
                                            std::string(kWeightsIndexFile), " in ", model_dir));
  }
  return ckpt;
}

absl::Status Checkpoint::OpenSingle() {
  const std::string path = absl::StrCat(dir_, "/", std::string(kSingleWeightsFile));
  TPS_ASSIGN_OR_RETURN(std::shared_ptr<const SafetensorsFile> file,
                       SafetensorsFile::Open(path, FileOptions()));
  for (const std::string& name : file->TensorNames()) index_.emplace(name, 0);
  files_.push_back(std::move(file));
  return absl::OkStatus();
}

absl::Status Checkpoint::OpenSharded(const std::string& index_path) {
  sharded_ = true;
  TPS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(index_path, kMaxIndexBytes));
  TPS_ASSIGN_OR_RETURN(internal::Json root, internal::ParseJson(text, index_path));
  auto error = [&index_path](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": ", parts...));
  };
  if (!root.is_object()) return error("expected a JSON object");
  auto map_it = root.find("weight_map");
  if (map_it == root.end() || !map_it->is_object()) {
    return error("weight_map is missing or not an object");
  }
  std::map<std::string, size_t> file_slots;  // file name -> files_ index
  std::vector<std::vector<std::string>> names_per_file;
  for (const auto& [name, file_json] : map_it->items()) {
    if (IsIgnored(name)) continue;
    if (!file_json.is_string()) {
      return error("weight_map['", name, "'] must be a file name, got ",
                   internal::Excerpt(file_json));
    }
    const std::string& file_name = file_json.get_ref<const std::string&>();
    if (!IsPlainFileName(file_name)) {
      return error("weight_map['", name, "'] names '", file_name,
                   "' (expected a file name inside the model directory)");
    }
    auto [slot, inserted] = file_slots.emplace(file_name, names_per_file.size());
    if (inserted) names_per_file.emplace_back();
    names_per_file[slot->second].push_back(name);
    index_.emplace(name, slot->second);
  }
  files_.resize(names_per_file.size());
  for (const auto& [file_name, slot] : file_slots) {
    const std::string path = absl::StrCat(dir_, "/", file_name);
    absl::StatusOr<std::shared_ptr<const SafetensorsFile>> file =
        SafetensorsFile::Open(path, FileOptions());
    if (!file.ok()) {
      return Annotate(file.status(), absl::StrCat("shard ", file_name, " listed in ", index_path));
    }
    for (const std::string& name : names_per_file[slot]) {
      if (!(*file)->Contains(name)) {
        return error("tensor '", name, "' is listed in ", file_name, " but that file lacks it");
      }
    }
    const size_t unlisted = (*file)->num_tensors() - names_per_file[slot].size();
    if (unlisted > 0) {
      TPS_LOG(kWarning) << path << ": " << unlisted
                        << " tensor(s) not listed in the index are ignored";
    }
    files_[slot] = *std::move(file);
  }
  return absl::OkStatus();
}

bool Checkpoint::Contains(std::string_view name) const { return index_.find(name) != index_.end(); }

absl::StatusOr<TensorInfo> Checkpoint::Find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return absl::NotFoundError(
        absl::StrCat("tensor '", std::string(name), "' is not in checkpoint ", dir_));
  }
  return files_[it->second]->Find(name);
}

std::vector<std::string> Checkpoint::TensorNames() const {
  std::vector<std::string> names;
  names.reserve(index_.size());
  for (const auto& [name, slot] : index_) names.push_back(name);
  return names;
}

size_t Checkpoint::total_tensor_bytes() const {
  size_t total = 0;
  for (const auto& [name, slot] : index_) {
    absl::StatusOr<TensorInfo> info = files_[slot]->Find(name);
    if (info.ok()) total += info->byte_size;
  }
  return total;
}

absl::Status Checkpoint::CopyColumnSlice(std::string_view name, int64_t begin, int64_t end,
                                         DType dst_dtype, void* dst, size_t dst_bytes) const {
  TPS_ASSIGN_OR_RETURN(TensorInfo info, Find(name));
  if (info.shape.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(info.file, ": tensor '", info.name, "' ",
                                                   info.Describe(),
                                                   ": a column slice needs a 2-D tensor"));
  }
  return CopyTensorSlice(info, 1, begin, end, dst_dtype, dst, dst_bytes);
}

absl::Status Checkpoint::CopySlice(std::string_view name, int dim, int64_t begin, int64_t end,
                                   DType dst_dtype, void* dst, size_t dst_bytes) const {
  TPS_ASSIGN_OR_RETURN(TensorInfo info, Find(name));
  return CopyTensorSlice(info, dim, begin, end, dst_dtype, dst, dst_bytes);
}

}  // namespace tpserve::model
