// The checks of a ChatRequest that need no model: required fields, roles, sampling ranges, limits
// and UTF-8 of every text. Each error is InvalidArgument and starts with the field's path, e.g.
// "messages[2].role: unknown role 'bot' (expected system, user, assistant or tool)" or
// "sampling.top_p: must be in (0, 1], got 1.5".
#ifndef TPSERVE_COORDINATOR_REQUEST_VALIDATION_H_
#define TPSERVE_COORDINATOR_REQUEST_VALIDATION_H_

#include "absl/status/status.h"
#include "tpserve/v1/chat.pb.h"

namespace tpserve::coordinator {

inline constexpr int kMaxStopStrings = 16;
inline constexpr size_t kMaxStopStringBytes = 256;
inline constexpr size_t kMaxIdBytes = 256;  // request_id, session_id
// model, messages[].name, messages[].tool_call_id, tool names and tool call ids.
inline constexpr size_t kMaxNameBytes = 256;
// tools[].description.
inline constexpr size_t kMaxToolDescriptionBytes = 16384;
// An error never repeats a caller's value whole: at most a short prefix (ops/base/echo.h).

absl::Status ValidateChatRequestFields(const tpserve::v1::ChatRequest& request);

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_REQUEST_VALIDATION_H_
