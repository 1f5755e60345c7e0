#include "tools/cli/chat_client.h"

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace tpserve::cli {

absl::StatusOr<std::unique_ptr<ChatClient>> ChatClient::Connect(const ClientOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("missing required flag --addr");
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls_ca_file.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    std::ifstream in(options.tls_ca_file);
    if (!in)
      return absl::NotFoundError(absl::StrCat("--tls-ca: cannot read ", options.tls_ca_file));
    std::stringstream ss;
    ss << in.rdbuf();
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ss.str();
    creds = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(options.address, creds, args);
  return std::unique_ptr<ChatClient>(
      new ChatClient(v1::ChatService::NewStub(channel), options.token));
}

void ChatClient::Prepare(grpc::ClientContext& context) const {
  if (!token_.empty()) context.AddMetadata("authorization", "Bearer " + token_);
}

absl::StatusOr<v1::Done> ChatClient::Chat(const v1::ChatRequest& request,
                                          const std::function<void(const v1::Delta&)>& on_delta) {
  grpc::ClientContext context;
  Prepare(context);
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = &context;
  }
  std::unique_ptr<grpc::ClientReader<v1::ChatResponse>> reader = stub_->Chat(&context, request);
  v1::ChatResponse response;
  std::optional<v1::Done> done;
  while (reader->Read(&response)) {
    if (response.has_delta()) on_delta(response.delta());
    if (response.has_done()) done = response.done();
  }
  const grpc::Status status = reader->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = nullptr;
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  if (!done.has_value()) return absl::InternalError("the stream ended without a final message");
  return *done;
}

absl::StatusOr<v1::ListModelsResponse> ChatClient::ListModels() {
  grpc::ClientContext context;
  Prepare(context);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListModelsResponse out;
  const grpc::Status status = stub_->ListModels(&context, v1::ListModelsRequest(), &out);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return out;
}

void ChatClient::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  if (active_ != nullptr) active_->TryCancel();
}

}  // namespace tpserve::cli
