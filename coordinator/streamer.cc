#include "coordinator/streamer.h"

#include "grpcpp/create_channel.h"
#include "proto/grpc_status.h"

namespace tpserve::coordinator {

namespace cpb = ::tpserve::cluster::v1;

LeaderChannels::LeaderChannels(std::shared_ptr<grpc::ChannelCredentials> credentials,
                               std::string join_token)
    : credentials_(credentials != nullptr ? std::move(credentials)
                                          : grpc::InsecureChannelCredentials()),
      join_token_(std::move(join_token)) {}

std::shared_ptr<grpc::Channel> LeaderChannels::Get(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(address);
  if (it == channels_.end()) {
    it = channels_.emplace(address, grpc::CreateChannel(address, credentials_)).first;
  }
  return it->second;
}

std::shared_ptr<LeaderStream> LeaderStream::Start(const std::shared_ptr<grpc::Channel>& channel,
                                                  cpb::GenerateRequest request,
                                                  gpr_timespec deadline,
                                                  std::shared_ptr<Listener> listener) {
  std::shared_ptr<LeaderStream> stream(new LeaderStream());
  stream->self_ = stream;
  stream->listener_ = std::move(listener);
  stream->request_ = std::move(request);
  stream->stub_ = cpb::Leader::NewStub(channel);
  stream->context_.set_deadline(deadline);
  stream->stub_->async()->Generate(&stream->context_, &stream->request_, stream.get());
  stream->StartRead(&stream->response_);
  stream->StartCall();
  return stream;
}

void LeaderStream::Cancel() { context_.TryCancel(); }

void LeaderStream::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows
  listener_->OnLeaderResponse(response_);
  StartRead(&response_);
}

void LeaderStream::OnDone(const grpc::Status& status) {
  std::shared_ptr<Listener> listener = std::move(listener_);
  listener->OnLeaderDone(FromGrpcStatus(status));
  // The last reference may be this one: nothing of `this` is touched after the reset.
  std::shared_ptr<LeaderStream> self = std::move(self_);
}

}  // namespace tpserve::coordinator
