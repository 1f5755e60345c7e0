// How a value a caller sent comes back inside an error: never whole. A 100 KB model name echoed
// into a status would exceed gRPC's metadata limits (the client then sees RESOURCE_EXHAUSTED
// "received metadata size exceeds hard limit" instead of the real error), and echoing megabytes of
// someone's prompt into logs is a leak. EchoValue quotes a short prefix; CapMessage is the net
// under every status that leaves a process (proto/grpc_status.cc).
#ifndef TPSERVE_OPS_BASE_ECHO_H_
#define TPSERVE_OPS_BASE_ECHO_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace tpserve {

// The longest part of a bad value that is echoed back.
inline constexpr size_t kMaxEchoedValueBytes = 32;

// The longest status message sent over the wire (gRPC carries it in a trailer; its default
// metadata limit is 8 KB, percent-encoding can triple non-ASCII bytes).
inline constexpr size_t kMaxStatusMessageBytes = 2048;

// At most kMaxEchoedValueBytes of `value` (cut at a UTF-8 character boundary), with "..." when
// cut. Unquoted: for names printed after a prefix (an unknown flag --...).
std::string EchoPrefix(std::string_view value);

// `value` quoted for an error message: 'value', or, when longer than kMaxEchoedValueBytes, its
// first bytes (cut at a UTF-8 character boundary) as 'prefix...' (N bytes).
std::string EchoValue(std::string_view value);

// `message` when at most `max_bytes` long; otherwise its first bytes (cut at a UTF-8 character
// boundary) and " ... [N bytes cut]", the whole at most `max_bytes`.
std::string CapMessage(std::string_view message, size_t max_bytes = kMaxStatusMessageBytes);

}  // namespace tpserve

#endif  // TPSERVE_OPS_BASE_ECHO_H_
