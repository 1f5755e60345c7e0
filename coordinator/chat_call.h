// One Chat call, from the client's request to its last message: authorization, admission,
// routing (possibly waiting in the model's queue), the leader's Generate stream, and the
// assembled deltas written back, then exactly one end (a Done message and OK, or an error
// status).
//
// Threading: a ChatCall is a gRPC callback reactor. Its methods run on gRPC's callback threads
// (the request handler, write completions, cancellation, the leader stream's reads) and on the
// router's dispatch callbacks; one mutex guards its state and is never held while calling into
// gRPC or the router. Deltas wait in a queue while a write is in flight (at most one per
// stream), so the queue is bounded by the tokens of the request (max_tokens). The call keeps
// itself alive until both the client side (OnDone) and the leader stream have ended.
//
// Ends:
//   - client cancel or deadline: the leader stream is cancelled (the leader frees the slot), or
//     the request leaves the queue;
//   - a stop string: the Done message is sent and the leader stream cancelled;
//   - the leader fails (UNAVAILABLE, connection lost, ...): UNAVAILABLE naming the replica, and
//     the group is marked failed until its leader reports READY again.
#ifndef TPSERVE_COORDINATOR_CHAT_CALL_H_
#define TPSERVE_COORDINATOR_CHAT_CALL_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/admission.h"
#include "coordinator/auth.h"
#include "coordinator/catalogue.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/membership.h"
#include "coordinator/output_assembler.h"
#include "coordinator/router.h"
#include "coordinator/streamer.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"

namespace tpserve::coordinator {

// Counts live calls so shutdown can wait for them.
class CallTracker {
 public:
  void Add();
  void Remove();
  // True when no call is left within `timeout`.
  bool WaitIdle(absl::Duration timeout);
  int live() const;

 private:
  mutable absl::Mutex mu_;
  int live_ ABSL_GUARDED_BY(mu_) = 0;
};

// What a ChatCall uses; owned by the Coordinator, which outlives every call (it waits for the
// tracker to drain before destroying these).
struct ChatDeps {
  Admission& admission;
  Router& router;
  Membership& membership;
  Catalogue& catalogue;
  LeaderChannels& channels;
  CoordinatorMetrics& metrics;
  const BearerTokenCheck& auth;
  CallTracker& tracker;
};

class ChatCall final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                       public LeaderStream::Listener,
                       public std::enable_shared_from_this<ChatCall> {
 public:
  // Starts handling `request` (raw bytes of a tpserve.v1.ChatRequest) and returns the reactor
  // for gRPC.
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Start(ChatDeps deps,
                                                           grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer& request);

  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  // LeaderStream::Listener
  void OnLeaderResponse(const tpserve::cluster::v1::GenerateResponse& response) override;
  void OnLeaderDone(const absl::Status& status) override;

 private:
  enum class Phase { kAdmitting, kQueued, kStreaming, kEnded };

  // Registers the call with the tracker for as long as it lives (declared first: destroyed last).
  class Tracked {
   public:
    explicit Tracked(CallTracker& tracker) : tracker_(tracker) { tracker_.Add(); }
    ~Tracked() { tracker_.Remove(); }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;

   private:
    CallTracker& tracker_;
  };

  ChatCall(ChatDeps deps, grpc::CallbackServerContext* context);
  void Begin(const grpc::ByteBuffer& request);
  void OnDispatched(absl::StatusOr<RouteTarget> target);
  void StartLeader(const RouteTarget& target);
  void Send(const tpserve::v1::ChatResponse& response);
  // Ends the call with `status` (after the queued messages) and records its outcome; only the
  // first end counts.
  void End(const absl::Status& status, const std::string& finish_reason, bool cancel_leader);
  void ReleaseSlot();
  void SendDone();
  std::string ReplicaName() const;
  std::string ModelLabel() const;

  Tracked tracked_;
  ChatDeps deps_;
  grpc::CallbackServerContext* const context_;
  const absl::Time arrival_;
  std::shared_ptr<ChatCall> self_;  // released in OnDone

  mutable absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kAdmitting;
  bool cancelled_ ABSL_GUARDED_BY(mu_) =
      false;  // the client is gone (cancel, deadline, write failed)
  uint64_t ticket_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<RouteTarget> target_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;  // the router slot was given back
  std::shared_ptr<LeaderStream> leader_ ABSL_GUARDED_BY(mu_);
  std::deque<grpc::ByteBuffer> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> final_status_ ABSL_GUARDED_BY(mu_);
  bool finish_sent_ ABSL_GUARDED_BY(mu_) = false;

  // Written by Begin before any other thread can see the call; read-only afterwards.
  std::optional<AdmittedRequest> admitted_;
  std::string model_label_ = "unknown";
  // Owned by the leader-stream reads (one at a time).
  std::unique_ptr<OutputAssembler> assembler_;
  std::optional<absl::Time> first_token_;
  absl::Time last_token_;
  absl::Time dispatched_;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_CHAT_CALL_H_
