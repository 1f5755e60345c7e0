// UTF-8 checking of a serialized protobuf message before it is parsed.
//
// protobuf refuses to parse a proto3 `string` field that is not valid UTF-8, and gRPC would turn
// that into an opaque deserialization error. The chat service receives ChatRequest as raw bytes
// and runs this check first, so a client that sends bad text gets INVALID_ARGUMENT naming the
// field and the byte offset ("messages[1].content[0].text: invalid UTF-8 at byte offset 7: ...").
#ifndef TPSERVE_COORDINATOR_WIRE_UTF8_H_
#define TPSERVE_COORDINATOR_WIRE_UTF8_H_

#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"

namespace tpserve::coordinator {

// OK when every `string` field (at any depth) of the `descriptor`-typed message in `wire` is valid
// UTF-8, or when `wire` is malformed (left for the parser to report). Otherwise InvalidArgument
// naming the field path, with repeated fields indexed.
absl::Status CheckWireUtf8(const google::protobuf::Descriptor& descriptor, std::string_view wire);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_WIRE_UTF8_H_
