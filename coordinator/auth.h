// Who may call the client API: its bearer token. (TLS credentials and the cluster's join token
// are in proto/cluster_credentials.h and proto/cluster_token.h, shared with the workers.)
//
// The bearer token is checked by the chat service itself at the start of every Chat and
// ListModels call (metadata "authorization: Bearer <token>"), so it holds with TLS and without;
// the health and reflection services stay open for probes and tooling. Tokens are compared in
// constant time.
//
// Rotation without a restart: with a token file, the file is looked at again (its modification
// time, size and inode) at most once per `recheck`; a new token takes effect at once and the one
// it replaced is still accepted for `grace`, so clients can move over. A file that cannot be read
// or is empty mid-rotation keeps the current token (logged once per change).
#ifndef TPSERVE_COORDINATOR_AUTH_H_
#define TPSERVE_COORDINATOR_AUTH_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/clock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/string_ref.h"

namespace tpserve::coordinator {

struct TokenFileOptions {
  std::string path;  // empty: the token never changes
  absl::Duration grace = absl::Minutes(5);
  absl::Duration recheck = absl::Seconds(1);
};

// The client API's bearer-token check. An empty token (and no file) disables it.
class BearerTokenCheck {
 public:
  explicit BearerTokenCheck(std::string token = "", TokenFileOptions file = {},
                            const Clock* clock = nullptr);
  // Unauthenticated when the token is required and missing or wrong.
  absl::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;
  bool enabled() const;

 private:
  // Re-reads the file when it changed and `recheck` has passed.
  void MaybeReload(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TokenFileOptions file_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  mutable std::string token_ ABSL_GUARDED_BY(mu_);
  mutable std::string previous_ ABSL_GUARDED_BY(mu_);  // accepted until previous_until_
  mutable absl::Time previous_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  mutable absl::Time checked_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  mutable std::string stamp_ ABSL_GUARDED_BY(mu_);  // mtime, size, inode of the file read
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_AUTH_H_
