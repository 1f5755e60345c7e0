#include "tools/model/safetensors_writer.h"

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/safetensors.h"
#include "nlohmann/json.hpp"
#include "ops/base/status_macros.h"

namespace tpserve::tools {
namespace {

constexpr size_t kIoBufferBytes = size_t{4} << 20;

}  // namespace

absl::StatusOr<std::string> SafetensorsWriter::BuildHeader(
    const std::vector<SafetensorsTensorDecl>& tensors,
    const std::map<std::string, std::string>& metadata, size_t* data_bytes) {
  // ordered_json keeps insertion order, so the bytes follow the declaration order.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  size_t offset = 0;
  for (const SafetensorsTensorDecl& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || !seen.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("safetensors writer: tensor name '", t.name,
                                                     "' is empty, reserved or "
                                                     "repeated"));
    }
    const std::optional<size_t> elem = model::SafetensorsDTypeSize(t.dtype);
    if (!elem.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("safetensors writer: tensor '", t.name, "': unknown dtype ", t.dtype));
    }
    size_t n = *elem;
    for (int64_t d : t.shape) {
      if (d < 0 || __builtin_mul_overflow(n, static_cast<size_t>(d), &n)) {
        return absl::InvalidArgumentError(
            absl::StrCat("safetensors writer: tensor '", t.name, "': bad shape"));
      }
    }
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  if (data_bytes != nullptr) *data_bytes = offset;
  return text;
}

absl::StatusOr<std::unique_ptr<SafetensorsWriter>> SafetensorsWriter::Create(
    const std::string& path, std::vector<SafetensorsTensorDecl> tensors,
    const std::map<std::string, std::string>& metadata) {
  std::unique_ptr<SafetensorsWriter> w(new SafetensorsWriter());
  w->path_ = path;
  TPS_ASSIGN_OR_RETURN(std::string header, BuildHeader(tensors, metadata, &w->data_bytes_));
  w->file_ = std::fopen(path.c_str(), "wb");
  if (w->file_ == nullptr) return w->IoError("cannot create");
  std::setvbuf(w->file_, nullptr, _IOFBF, kIoBufferBytes);
  uint8_t len[8];
  uint64_t n = header.size();
  for (uint8_t& b : len) {
    b = static_cast<uint8_t>(n & 0xff);
    n >>= 8;
  }
  if (std::fwrite(len, 1, sizeof(len), w->file_) != sizeof(len) ||
      std::fwrite(header.data(), 1, header.size(), w->file_) != header.size()) {
    return w->IoError("cannot write");
  }
  return w;
}

SafetensorsWriter::~SafetensorsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status SafetensorsWriter::IoError(const char* what) const {
  return absl::InternalError(absl::StrCat(what, " ", path_, ": ", std::strerror(errno)));
}

absl::Status SafetensorsWriter::Write(const void* data, size_t bytes) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": write after Finish"));
  }
  if (bytes > data_bytes_ - written_) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": ", bytes, " more bytes than the ",
                                                      data_bytes_ - written_,
                                                      " the declared tensors still hold"));
  }
  if (bytes > 0 && std::fwrite(data, 1, bytes, file_) != bytes) return IoError("cannot write");
  written_ += bytes;
  return absl::OkStatus();
}

absl::Status SafetensorsWriter::Finish() {
  if (file_ == nullptr) return absl::FailedPreconditionError(absl::StrCat(path_, ": finished"));
  if (written_ != data_bytes_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": ", written_, " of ", data_bytes_, " data bytes written"));
  }
  std::FILE* f = file_;
  file_ = nullptr;
  const bool flush_failed = std::fflush(f) != 0;
  const bool close_failed = std::fclose(f) != 0;
  if (flush_failed || close_failed) return IoError("cannot finish");
  return absl::OkStatus();
}

absl::Status WriteSafetensors(const std::string& path,
                              const std::vector<SafetensorsTensorData>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsTensorDecl> decls;
  decls.reserve(tensors.size());
  for (const SafetensorsTensorData& t : tensors) decls.push_back({t.name, t.dtype, t.shape});
  TPS_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsWriter> w,
                       SafetensorsWriter::Create(path, std::move(decls), metadata));
  for (const SafetensorsTensorData& t : tensors) {
    size_t want = model::SafetensorsDTypeSize(t.dtype).value_or(0);  // dtype already checked
    for (int64_t d : t.shape) want *= static_cast<size_t>(d);
    if (t.bytes.size() != want) {
      return absl::InvalidArgumentError(absl::StrCat("safetensors writer: tensor '", t.name,
                                                     "' has ", t.bytes.size(), " bytes, needs ",
                                                     want));
    }
    TPS_RETURN_IF_ERROR(w->Write(t.bytes.data(), t.bytes.size()));
  }
  return w->Finish();
}

}  // namespace tpserve::tools
