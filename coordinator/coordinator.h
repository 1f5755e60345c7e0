// The coordinator process's parts, wired together: membership, catalogue, admission, router,
// rendezvous store, the chat service (client port: ChatService + grpc.health.v1 + reflection)
// and the cluster service (cluster port), and a housekeeping thread.
//
//   prometheus::Registry registry;
//   CoordinatorMetrics metrics(registry);
//   SystemClock clock;
//   ASSIGN_OR_RETURN(auto coordinator,
//                    Coordinator::Start(options, std::move(catalogue), metrics, clock));
//   ... coordinator->client_port() ...
//   coordinator->Shutdown();
//
// Housekeeping (every Options::housekeeping_interval): drop workers whose lease expired, route
// waiting requests, update the health service (overall "" and "tpserve.v1.ChatService":
// SERVING while at least one model has a ready replica; one service name per model, its name,
// SERVING while it has a ready replica) and the worker / group gauges.
//
// Shutdown stops both servers: streams in flight get Options::shutdown_grace to finish, then are
// cancelled (and their leader streams in turn); it waits for every call to end, then stops the
// housekeeping thread. Thread-safe.
#ifndef TPSERVE_COORDINATOR_COORDINATOR_H_
#define TPSERVE_COORDINATOR_COORDINATOR_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/admission.h"
#include "coordinator/auth.h"
#include "coordinator/catalogue.h"
#include "coordinator/chat_call.h"
#include "coordinator/chat_service.h"
#include "coordinator/clock.h"
#include "coordinator/cluster_service.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/image_token_counter.h"
#include "coordinator/membership.h"
#include "coordinator/rendezvous_store.h"
#include "coordinator/router.h"
#include "coordinator/streamer.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace tpserve::coordinator {

struct CoordinatorOptions {
  std::string listen = "0.0.0.0:50051";          // client API
  std::string cluster_listen = "0.0.0.0:50052";  // cluster API
  // Null: insecure.
  std::shared_ptr<grpc::ServerCredentials> client_credentials;
  std::shared_ptr<grpc::ServerCredentials> cluster_credentials;
  std::shared_ptr<grpc::ChannelCredentials> leader_credentials;  // dialing leaders; null: insecure
  std::string api_token;                                         // empty: no bearer token required
  // The file api_token came from (re-read when it changes: rotation without a restart) and how
  // long a replaced token stays valid.
  std::string api_token_file;
  absl::Duration api_token_grace = absl::Minutes(5);
  // The cluster's shared secret: workers present it on every cluster call, and the coordinator
  // presents it to leaders in Generate. Empty: not checked.
  std::string join_token;
  absl::Duration heartbeat_interval = absl::Seconds(1);
  int max_queue = 64;
  // The longest a request waits for a slot (InfiniteDuration: its deadline only).
  absl::Duration max_queue_wait = absl::Seconds(60);
  absl::Duration session_ttl = absl::Minutes(30);
  int default_group_capacity = 16;
  absl::Duration housekeeping_interval = absl::Milliseconds(100);
  absl::Duration shutdown_grace = absl::Seconds(5);
};

class Coordinator {
 public:
  // Binds both ports and starts serving. `metrics`, `clock` and `image_counter` (may be null)
  // must outlive the coordinator.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Start(
      const CoordinatorOptions& options, std::unique_ptr<Catalogue> catalogue,
      CoordinatorMetrics& metrics, const Clock& clock,
      const ImageTokenCounter* image_counter = nullptr);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  int client_port() const { return client_port_; }
  int cluster_port() const { return cluster_port_; }

  // Idempotent.
  void Shutdown();
  // One housekeeping pass (the thread runs it periodically; tests call it after moving a fake
  // clock).
  void Housekeeping();

  Membership& membership() { return *membership_; }
  Router& router() { return *router_; }
  Catalogue& catalogue() { return *catalogue_; }
  RendezvousStore& store() { return store_; }
  const ChatService& chat_service() const { return *chat_service_; }
  int live_calls() const { return tracker_.live(); }

 private:
  Coordinator(const CoordinatorOptions& options, std::unique_ptr<Catalogue> catalogue,
              CoordinatorMetrics& metrics, const Clock& clock,
              const ImageTokenCounter* image_counter);
  absl::Status StartServers();
  void HousekeepingLoop();

  const CoordinatorOptions options_;
  CoordinatorMetrics& metrics_;
  const Clock& clock_;
  std::unique_ptr<Catalogue> catalogue_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Admission> admission_;
  RendezvousStore store_;
  LeaderChannels channels_;
  BearerTokenCheck auth_;
  CallTracker tracker_;
  std::unique_ptr<ChatService> chat_service_;
  std::unique_ptr<ClusterService> cluster_service_;
  std::unique_ptr<grpc::Server> client_server_;
  std::unique_ptr<grpc::Server> cluster_server_;
  int client_port_ = 0;
  int cluster_port_ = 0;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::thread housekeeping_;
};

}  // namespace tpserve::coordinator

#endif  // TPSERVE_COORDINATOR_COORDINATOR_H_
