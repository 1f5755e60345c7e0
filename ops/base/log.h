// A small leveled logger (abseil 20220623 has no absl/log; this avoids a second flag system).
//
//   TPS_LOG(kInfo) << "loaded " << n << " tensors";
//
// Lines go to stderr as "I 23:44:55.123 file.cc:42] message". The minimum level is set once by
// main() (SetMinLogLevel) or by the TPSERVE_LOG_LEVEL environment variable
// (debug|info|warning|error). Thread-safe: each line is written with one call.
#ifndef TPSERVE_OPS_BASE_LOG_H_
#define TPSERVE_OPS_BASE_LOG_H_

#include <sstream>

namespace tpserve {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

namespace internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace internal
}  // namespace tpserve

#define TPS_LOG(level)                                         \
  if (::tpserve::LogLevel::level < ::tpserve::MinLogLevel()) { \
  } else                                                       \
    ::tpserve::internal::LogMessage(::tpserve::LogLevel::level, __FILE__, __LINE__).stream()

#endif  // TPSERVE_OPS_BASE_LOG_H_
