#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/safetensors_internal.h"
#include "ops/base/status_macros.h"

namespace tpserve::model {
namespace {

absl::Status ErrnoStatus(int err, const std::string& what) {
  const std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOMEM:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// Closes the descriptor on every path out of Open.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path) {
  return Open(path, Options{});
}

absl::StatusOr<std::shared_ptr<const SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path, const Options& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrCat("cannot stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  // Not make_shared: the constructor is private.
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return ErrnoStatus(errno, absl::StrCat("cannot map ", path));
    file->base_ = static_cast<const std::byte*>(p);
    // No read-around on faults: a tensor-parallel rank reads only its slices, and the weight
    // loader asks for exactly those ranges with MADV_WILLNEED (see Prefetch()).
    ::madvise(p, file->size_, MADV_RANDOM);
  }
  TPS_ASSIGN_OR_RETURN(
      internal::ParsedHeader header,
      internal::ParseSafetensorsHeader(file->base_, file->size_, path, options.ignored_prefixes,
                                       options.max_header_bytes));
  file->metadata_ = std::move(header.metadata);
  for (internal::HeaderEntry& e : header.tensors) {
    Entry entry;
    entry.raw_dtype = std::move(e.raw_dtype);
    entry.shape = std::move(e.shape);
    entry.offset = header.data_offset + e.begin;
    entry.byte_size = e.end - e.begin;
    file->tensors_.emplace(std::move(e.name), std::move(entry));
  }
  return std::shared_ptr<const SafetensorsFile>(std::move(file));
}

SafetensorsFile::~SafetensorsFile() {
  if (base_ != nullptr) ::munmap(const_cast<std::byte*>(base_), size_);
}

bool SafetensorsFile::Contains(std::string_view name) const {
  return tensors_.find(name) != tensors_.end();
}

absl::StatusOr<TensorInfo> SafetensorsFile::Find(std::string_view name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(absl::StrCat(path_, ": no tensor '", std::string(name), "'"));
  }
  const Entry& e = it->second;
  TensorInfo info;
  info.name = it->first;
  info.raw_dtype = e.raw_dtype;
  info.dtype = SafetensorsToDType(e.raw_dtype);
  info.shape = e.shape;
  info.data = base_ + e.offset;
  info.byte_size = e.byte_size;
  info.file = path_;
  info.owner = shared_from_this();
  return info;
}

std::vector<std::string> SafetensorsFile::TensorNames() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, entry] : tensors_) names.push_back(name);
  return names;
}

}  // namespace tpserve::model
