// A client of the public chat API (tpserve.v1.ChatService) for the CLI: one streaming Chat call,
// with deltas delivered to a callback as they arrive.
#ifndef TPSERVE_TOOLS_CLI_CHAT_CLIENT_H_
#define TPSERVE_TOOLS_CLI_CHAT_CLIENT_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "tpserve/v1/chat.grpc.pb.h"

namespace tpserve::cli {

struct ClientOptions {
  std::string address;      // host:port
  std::string tls_ca_file;  // non-empty: TLS, verifying the server with this CA
  std::string token;        // non-empty: "authorization: Bearer <token>"
};

class ChatClient {
 public:
  static absl::StatusOr<std::unique_ptr<ChatClient>> Connect(const ClientOptions& options);

  // Runs one Chat call; `on_delta` sees every delta in order. Returns the final Done, or the
  // call's error status (converted from gRPC, message kept).
  absl::StatusOr<v1::Done> Chat(const v1::ChatRequest& request,
                                const std::function<void(const v1::Delta&)>& on_delta);
  absl::StatusOr<v1::ListModelsResponse> ListModels();
  // Cancels the Chat call in flight (from another thread or a signal handler's helper thread).
  void Cancel();

 private:
  explicit ChatClient(std::unique_ptr<v1::ChatService::Stub> stub, std::string token)
      : stub_(std::move(stub)), token_(std::move(token)) {}
  void Prepare(grpc::ClientContext& context) const;

  std::unique_ptr<v1::ChatService::Stub> stub_;
  std::string token_;
  std::mutex mu_;
  grpc::ClientContext* active_ = nullptr;  // guarded by mu_
};

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_CHAT_CLIENT_H_
