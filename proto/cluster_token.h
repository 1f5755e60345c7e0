// The cluster's join token: the shared secret every cluster call presents.
//
// When the operator gives the coordinator and the workers a join token (--join-token-file), each
// cluster message that can change or read cluster state carries it: RegisterRequest,
// HeartbeatRequest, StoreSetRequest, StoreWaitRequest (worker → coordinator), GenerateRequest
// (coordinator → leader) and FollowerHello (follower → leader's control channel). The receiver
// checks it in constant time. An empty expected token accepts any (no token configured).
// Without TLS the token travels in clear text; pair it with --cluster-tls-* off a private network.
#ifndef TPSERVE_PROTO_CLUSTER_TOKEN_H_
#define TPSERVE_PROTO_CLUSTER_TOKEN_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tpserve::cluster {

// The token in `path` with surrounding white space removed. NotFound naming an unreadable path,
// InvalidArgument for an empty file.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// True when a == b, in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// OK when `expected` is empty or equals `presented`; Unauthenticated otherwise, saying whether
// the token was missing or wrong and who refused it (`receiver`, e.g. "this coordinator").
absl::Status CheckJoinToken(std::string_view expected, std::string_view presented,
                            std::string_view receiver);

}  // namespace tpserve::cluster

#endif  // TPSERVE_PROTO_CLUSTER_TOKEN_H_
