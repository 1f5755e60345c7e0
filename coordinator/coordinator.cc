#include "coordinator/coordinator.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"

namespace tpserve::coordinator {
namespace {

constexpr int kMaxClientMessageBytes = 16 << 20;  // room for images later

Router::Options RouterOptions(const CoordinatorOptions& o) {
  Router::Options r;
  r.max_queue = o.max_queue;
  r.max_queue_wait = o.max_queue_wait;
  r.session_ttl = o.session_ttl;
  r.default_group_capacity = o.default_group_capacity;
  r.unready_grace = 2 * o.heartbeat_interval;
  return r;
}

}  // namespace

Coordinator::Coordinator(const CoordinatorOptions& options, std::unique_ptr<Catalogue> catalogue,
                         CoordinatorMetrics& metrics, const Clock& clock,
                         const ImageTokenCounter* image_counter)
    : options_(options),
      metrics_(metrics),
      clock_(clock),
      catalogue_(catalogue != nullptr ? std::move(catalogue) : std::make_unique<Catalogue>()),
      membership_(std::make_unique<Membership>(options.heartbeat_interval, clock)),
      router_(std::make_unique<Router>(RouterOptions(options), *membership_, clock, metrics)),
      admission_(std::make_unique<Admission>(*catalogue_, *membership_, image_counter)),
      channels_(options.leader_credentials, options.join_token),
      auth_(options.api_token, {.path = options.api_token_file, .grace = options.api_token_grace},
            &clock) {
  chat_service_ = std::make_unique<ChatService>(ChatDeps{
      *admission_, *router_, *membership_, *catalogue_, channels_, metrics_, auth_, tracker_});
  cluster_service_ = std::make_unique<ClusterService>(
      *membership_, *catalogue_, store_, options.join_token, [this] { router_->Pump(); });
}

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Start(
    const CoordinatorOptions& options, std::unique_ptr<Catalogue> catalogue,
    CoordinatorMetrics& metrics, const Clock& clock, const ImageTokenCounter* image_counter) {
  if (options.heartbeat_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("heartbeat interval: must be > 0");
  }
  if (options.max_queue < 0) return absl::InvalidArgumentError("max_queue: must be >= 0");
  std::unique_ptr<Coordinator> c(
      new Coordinator(options, std::move(catalogue), metrics, clock, image_counter));
  TPS_RETURN_IF_ERROR(c->StartServers());
  c->Housekeeping();
  c->housekeeping_ = std::thread([raw = c.get()] { raw->HousekeepingLoop(); });
  return c;
}

absl::Status Coordinator::StartServers() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.listen,
                             options_.client_credentials != nullptr
                                 ? options_.client_credentials
                                 : grpc::InsecureServerCredentials(),
                             &client_port_);
    builder.SetMaxReceiveMessageSize(kMaxClientMessageBytes);
    builder.RegisterService(chat_service_.get());
    client_server_ = builder.BuildAndStart();
    if (client_server_ == nullptr || client_port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.listen, " (client API, --listen)"));
    }
  }
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.cluster_listen,
                             options_.cluster_credentials != nullptr
                                 ? options_.cluster_credentials
                                 : grpc::InsecureServerCredentials(),
                             &cluster_port_);
    builder.RegisterService(cluster_service_.get());
    cluster_server_ = builder.BuildAndStart();
    if (cluster_server_ == nullptr || cluster_port_ == 0) {
      client_server_->Shutdown();
      client_server_->Wait();
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.cluster_listen,
                                                 " (cluster API, --cluster-listen)"));
    }
  }
  return absl::OkStatus();
}

void Coordinator::Housekeeping() {
  membership_->SweepExpired();
  router_->Pump();
  const std::vector<GroupStatus> groups = membership_->Groups();
  std::map<std::pair<std::string, std::string>, int> group_counts;
  std::set<std::string> ready_models;
  for (const GroupStatus& g : groups) {
    ++group_counts[{g.key.model, GroupStateName(g.state)}];
    if (g.ready()) ready_models.insert(g.key.model);
  }
  metrics_.SetGroups(group_counts);
  metrics_.SetWorkers(membership_->WorkerStateCounts());
  if (client_server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = client_server_->GetHealthCheckService();
  if (health == nullptr) return;
  const bool serving = !ready_models.empty();
  health->SetServingStatus("", serving);
  health->SetServingStatus("tpserve.v1.ChatService", serving);
  for (const std::string& model : catalogue_->Names()) {
    health->SetServingStatus(model, ready_models.count(model) != 0);
  }
}

void Coordinator::HousekeepingLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), options_.housekeeping_interval)) return;
    mu_.Unlock();
    Housekeeping();
    mu_.Lock();
  }
}

void Coordinator::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // Streams in flight get the grace period to finish; without any, an idle client connection
  // must not hold the shutdown up until the deadline.
  const auto deadline = std::chrono::system_clock::now() +
                        (tracker_.live() > 0 ? absl::ToChronoMilliseconds(options_.shutdown_grace)
                                             : std::chrono::milliseconds(0));
  if (client_server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = client_server_->GetHealthCheckService()) {
      health->Shutdown();
    }
    client_server_->Shutdown(deadline);
  }
  if (cluster_server_ != nullptr) cluster_server_->Shutdown(deadline);
  if (client_server_ != nullptr) client_server_->Wait();
  if (cluster_server_ != nullptr) cluster_server_->Wait();
  if (!tracker_.WaitIdle(options_.shutdown_grace + absl::Seconds(5))) {
    TPS_LOG(kWarning) << tracker_.live() << " chat calls still live after shutdown";
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (housekeeping_.joinable()) housekeeping_.join();
}

Coordinator::~Coordinator() { Shutdown(); }

}  // namespace tpserve::coordinator
