// The gRPC channel a worker uses for the coordinator's cluster API (registration, heartbeats, the
// rendezvous store): plain TCP, or TLS verified against `tls_ca_pem` when given. Reconnection
// backoff is capped at one second so a restarted coordinator is seen again within a heartbeat
// or two (gRPC's default grows to two minutes).
#ifndef TPSERVE_WORKER_COORDINATOR_CHANNEL_H_
#define TPSERVE_WORKER_COORDINATOR_CHANNEL_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace tpserve::worker {

std::shared_ptr<grpc::Channel> MakeCoordinatorChannel(const std::string& address,
                                                      const std::string& tls_ca_pem = "");

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_COORDINATOR_CHANNEL_H_
