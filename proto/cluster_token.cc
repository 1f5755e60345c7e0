#include "proto/cluster_token.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tpserve::cluster {

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(ss.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the token file is empty"));
  }
  return token;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

absl::Status CheckJoinToken(std::string_view expected, std::string_view presented,
                            std::string_view receiver) {
  if (expected.empty()) return absl::OkStatus();
  if (presented.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("join token missing: ", std::string(receiver),
                                                   " requires the cluster join token "
                                                   "(--join-token-file)"));
  }
  if (!ConstantTimeEquals(presented, expected)) {
    return absl::UnauthenticatedError(absl::StrCat("join token wrong: it does not match the one ",
                                                   std::string(receiver), " was given"));
  }
  return absl::OkStatus();
}

}  // namespace tpserve::cluster
