// The coordinator's side of a leader's Generate stream.
//
// LeaderChannels keeps one gRPC channel per leader address (created on first use, with the
// configured credentials: insecure unless TLS credentials are given), shared by all streams to
// that leader, and the cluster's join token that each Generate presents.
//
// LeaderStream is one Generate call, driven by gRPC's callback API (no thread is held while it
// waits). It forwards the client's deadline, reads messages one at a time and hands each to its
// Listener, then reports the final status exactly once. Cancel() (the client went away, a stop
// string ended the output) cancels the call; the leader then frees the sequence's slot.
//
//   auto stream = LeaderStream::Start(channel, request, deadline, listener);
//   ...                    // listener->OnLeaderResponse(...) per message, on gRPC threads
//   stream->Cancel();      // any time, from any thread; a no-op once the call has ended
//                          // listener->OnLeaderDone(status) exactly once
//
// The stream keeps itself (and its listener) alive until OnLeaderDone has returned.
#ifndef TPSERVE_COORDINATOR_STREAMER_H_
#define TPSERVE_COORDINATOR_STREAMER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/client_callback.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"

namespace tpserve::coordinator {

class LeaderChannels {
 public:
  // Null credentials: insecure. `join_token` (may be empty) is presented in every Generate.
  explicit LeaderChannels(std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr,
                          std::string join_token = "");
  std::shared_ptr<grpc::Channel> Get(const std::string& address);
  const std::string& join_token() const { return join_token_; }

 private:
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const std::string join_token_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
};

class LeaderStream final : public grpc::ClientReadReactor<tpserve::cluster::v1::GenerateResponse> {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // One message; the next read starts after this returns.
    virtual void OnLeaderResponse(const tpserve::cluster::v1::GenerateResponse& response) = 0;
    // The call ended: OK after the last message, CANCELLED after Cancel(), else the leader's or
    // the transport's error. Called exactly once.
    // The stream's final status (converted from gRPC at this edge).
    virtual void OnLeaderDone(const absl::Status& status) = 0;
  };

  // `deadline` is the client's (gpr_inf_future for none).
  static std::shared_ptr<LeaderStream> Start(const std::shared_ptr<grpc::Channel>& channel,
                                             tpserve::cluster::v1::GenerateRequest request,
                                             gpr_timespec deadline,
                                             std::shared_ptr<Listener> listener);

  void Cancel();

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  LeaderStream() = default;

  std::unique_ptr<tpserve::cluster::v1::Leader::Stub> stub_;
  grpc::ClientContext context_;
  tpserve::cluster::v1::GenerateRequest request_;
  tpserve::cluster::v1::GenerateResponse response_;
  std::shared_ptr<Listener> listener_;  // released after OnLeaderDone
  std::shared_ptr<LeaderStream> self_;  // released in OnDone
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_STREAMER_H_
