#include "coordinator/auth.h"

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ops/base/log.h"
#include "proto/cluster_token.h"

namespace tpserve::coordinator {
namespace {

// What identifies a version of the file ("" when it cannot be stat'ed).
std::string FileStamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, "/", st.st_size, "/", st.st_ino);
}

const Clock& DefaultClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace

BearerTokenCheck::BearerTokenCheck(std::string token, TokenFileOptions file, const Clock* clock)
    : file_(std::move(file)), clock_(clock != nullptr ? *clock : DefaultClock()) {
  absl::MutexLock lock(&mu_);
  token_ = std::move(token);
  if (!file_.path.empty()) {
    stamp_ = FileStamp(file_.path);
    checked_ = clock_.Now();
  }
}

bool BearerTokenCheck::enabled() const {
  absl::MutexLock lock(&mu_);
  return !token_.empty() || !file_.path.empty();
}

void BearerTokenCheck::MaybeReload(absl::Time now) const {
  if (file_.path.empty() || now - checked_ < file_.recheck) return;
  checked_ = now;
  const std::string stamp = FileStamp(file_.path);
  if (stamp == stamp_) return;
  stamp_ = stamp;
  absl::StatusOr<std::string> token = cluster::ReadTokenFile(file_.path);
  if (!token.ok()) {
    TPS_LOG(kWarning) << "--api-token-file changed but cannot be used (keeping the current token): "
                      << token.status().message();
    return;
  }
  if (*token == token_) return;
  previous_ = std::move(token_);
  previous_until_ = now + file_.grace;
  token_ = *std::move(token);
  TPS_LOG(kInfo) << "the client API token was rotated (" << file_.path
                 << "); the previous one is accepted for " << absl::FormatDuration(file_.grace);
}

absl::Status BearerTokenCheck::Check(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  MaybeReload(now);
  if (token_.empty()) return absl::OkStatus();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "missing bearer token: send the metadata \"authorization: Bearer <token>\"");
  }
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() < kBearer.size() ||
      !absl::EqualsIgnoreCase(absl::string_view(value.data(), kBearer.size()),
                              absl::string_view(kBearer.data(), kBearer.size()))) {
    return absl::UnauthenticatedError("wrong bearer token");
  }
  const std::string_view presented = value.substr(kBearer.size());
  // Both compared, in constant time, whatever the first says.
  const bool current = cluster::ConstantTimeEquals(presented, token_);
  const bool previous = !previous_.empty() && now < previous_until_ &&
                        cluster::ConstantTimeEquals(presented, previous_);
  if (!current && !previous) return absl::UnauthenticatedError("wrong bearer token");
  return absl::OkStatus();
}

}  // namespace tpserve::coordinator
