#include "proto/grpc_status.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "ops/base/echo.h"

namespace tpserve {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // Capped: a status that quoted a long value must still fit gRPC's trailer, or the caller would
  // see a transport error instead of the real one.
  return grpc::Status(
      static_cast<grpc::StatusCode>(status.code()),
      CapMessage(std::string_view(status.message().data(), status.message().size())));
}

absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      what.empty() ? status.error_message()
                                   : absl::StrCat(absl::string_view(what.data(), what.size()), ": ",
                                                  status.error_message()));
}

std::string StatusCodeLabel(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.empty() ? "unknown" : name;
}

}  // namespace tpserve
