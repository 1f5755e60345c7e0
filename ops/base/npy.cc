#include "ops/base/npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tpserve {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
// Fixed header size so Close() can rewrite the row count in place.
constexpr size_t kHeaderBytes = 128;

absl::Status ParseHeaderDict(const std::string& dict, const std::string& path, std::string* descr,
                             std::vector<int64_t>* shape) {
  auto field = [&](const std::string& key) -> std::string {
    const size_t k = dict.find("'" + key + "'");
    if (k == std::string::npos) return "";
    const size_t colon = dict.find(':', k);
    return colon == std::string::npos ? "" : dict.substr(colon + 1);
  };
  std::string d = field("descr");
  const size_t q1 = d.find('\''), q2 = d.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": npy header has no descr"));
  }
  *descr = d.substr(q1 + 1, q2 - q1 - 1);
  const std::string fo = field("fortran_order");
  if (fo.find("True") != std::string::npos && fo.find("True") < fo.find(',')) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": fortran_order arrays are not supported"));
  }
  std::string s = field("shape");
  const size_t p1 = s.find('('), p2 = s.find(')');
  if (p1 == std::string::npos || p2 == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": npy header has no shape"));
  }
  shape->clear();
  for (absl::string_view part : absl::StrSplit(s.substr(p1 + 1, p2 - p1 - 1), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    int64_t v;
    if (!absl::SimpleAtoi(part, &v) || v < 0) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": bad shape entry '", part, "'"));
    }
    shape->push_back(v);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NpyArray> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a .npy file"));
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    if (bytes.size() < 12) return absl::InvalidArgumentError(absl::StrCat(path, ": truncated"));
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  }
  if (offset + header_len > bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": truncated header"));
  }
  std::string descr;
  NpyArray out;
  if (absl::Status s = ParseHeaderDict(bytes.substr(offset, header_len), path, &descr, &out.shape);
      !s.ok()) {
    return s;
  }
  int64_t n = 1;
  for (int64_t d : out.shape) n *= d;
  const size_t data_off = offset + header_len;
  const size_t elem = 4;
  if (descr != "<f4" && descr != "<i4") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": dtype '", descr, "' unsupported (expected <f4 or <i4)"));
  }
  if (bytes.size() - data_off != static_cast<size_t>(n) * elem) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": data has ", bytes.size() - data_off, " bytes, shape needs ", n * 4));
  }
  out.data.resize(static_cast<size_t>(n));
  if (descr == "<f4") {
    std::memcpy(out.data.data(), bytes.data() + data_off, static_cast<size_t>(n) * 4);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, bytes.data() + data_off + static_cast<size_t>(i) * 4, 4);
      out.data[static_cast<size_t>(i)] = static_cast<float>(v);
    }
  }
  return out;
}

NpyWriter::~NpyWriter() {
  if (file_ != nullptr) (void)Close();
}

absl::Status NpyWriter::Open(const std::string& path, int64_t cols) {
  path_ = path;
  cols_ = cols;
  rows_ = 0;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot open for writing: ", std::strerror(errno)));
  }
  return WriteHeader();
}

absl::Status NpyWriter::WriteHeader() {
  std::string dict = absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", rows_,
                                  ", ", cols_, "), }");
  std::string header(kMagic, 6);
  header += '\x01';
  header += '\x00';
  const size_t len = kHeaderBytes - 10;
  header += static_cast<char>(len & 0xff);
  header += static_cast<char>((len >> 8) & 0xff);
  dict.resize(len - 1, ' ');
  header += dict;
  header += '\n';
  if (std::fseek(file_, 0, SEEK_SET) != 0 ||
      std::fwrite(header.data(), 1, header.size(), file_) != header.size()) {
    return absl::InternalError(absl::StrCat(path_, ": write failed"));
  }
  return absl::OkStatus();
}

absl::Status NpyWriter::AppendRows(const float* data, int64_t rows) {
  if (file_ == nullptr) return absl::FailedPreconditionError("NpyWriter: not open");
  if (std::fseek(file_, 0, SEEK_END) != 0) return absl::InternalError(path_ + ": seek failed");
  const size_t n = static_cast<size_t>(rows * cols_);
  if (std::fwrite(data, sizeof(float), n, file_) != n) {
    return absl::InternalError(absl::StrCat(path_, ": write failed: ", std::strerror(errno)));
  }
  rows_ += rows;
  return absl::OkStatus();
}

absl::Status NpyWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  absl::Status s = WriteHeader();
  if (std::fclose(file_) != 0 && s.ok()) s = absl::InternalError(path_ + ": close failed");
  file_ = nullptr;
  return s;
}

}  // namespace tpserve
