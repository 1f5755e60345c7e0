#include "proto/cluster_flags.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "proto/cluster_token.h"

namespace tpserve::cluster {
namespace {

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Invalid(const StringFlag& flag, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(FlagName(flag.name), ": ", Absl(what)));
}

}  // namespace

absl::Status CheckListenAddress(const StringFlag& flag, std::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string_view::npos ||
      !absl::SimpleAtoi(Absl(address.substr(colon + 1)), &port) || port < 0 || port > kMaxPort) {
    return Invalid(flag, absl::StrCat("must be HOST:PORT with a port in [0, ", kMaxPort, "], got ",
                                      EchoValue(address)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFlagFile(const StringFlag& flag, const std::string& path) {
  absl::StatusOr<std::string> token = ReadTokenFile(path);
  if (!token.ok()) return Invalid(flag, std::string(token.status().message()));
  return token;
}

absl::StatusOr<std::string> ReadPemFlagFile(const StringFlag& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(flag, absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) return Invalid(flag, absl::StrCat("cannot read ", path, " (empty)"));
  return ss.str();
}

absl::Status CheckTlsPair(const StringFlag& cert_flag, const std::string& cert_path,
                          const StringFlag& key_flag, const std::string& key_path) {
  if (cert_path.empty() == key_path.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      FlagName(cert_flag.name), " and ", FlagName(key_flag.name), " go together (got only ",
      FlagName(cert_path.empty() ? key_flag.name : cert_flag.name), ")"));
}

absl::Status CheckTlsFiles(const StringFlag& cert_flag, const std::string& cert_path,
                           const StringFlag& key_flag, const std::string& key_path) {
  if (absl::Status s = CheckTlsPair(cert_flag, cert_path, key_flag, key_path); !s.ok()) return s;
  if (cert_path.empty()) return absl::OkStatus();
  if (absl::Status s = ReadPemFlagFile(cert_flag, cert_path).status(); !s.ok()) return s;
  return ReadPemFlagFile(key_flag, key_path).status();
}

}  // namespace tpserve::cluster
