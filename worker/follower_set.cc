#include "worker/follower_set.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "proto/cluster_token.h"

namespace tpserve::worker {

int FollowerSet::connected() const {
  return static_cast<int>(
      std::count_if(conns_.begin(), conns_.end(), [](const auto& c) { return c != nullptr; }));
}

absl::Status FollowerSet::AcceptAll(ControlServer& server, const cluster::v1::GroupSetup& setup,
                                    absl::Time deadline,
                                    const std::function<absl::Status()>& check) {
  const int world = world_size();
  while (connected() < world - 1) {
    if (check) TPS_RETURN_IF_ERROR(check());
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("only ", connected(), " of ", world - 1, " followers connected in time"));
    }
    absl::StatusOr<std::unique_ptr<ControlConnection>> conn =
        server.Accept(absl::Milliseconds(100));
    if (!conn.ok()) {
      if (absl::IsDeadlineExceeded(conn.status())) continue;
      return conn.status();
    }
    absl::StatusOr<cluster::v1::ControlMessage> hello = (*conn)->Receive(absl::Seconds(10));
    if (!hello.ok()) {
      TPS_LOG(kWarning) << "a follower connected but sent no hello: " << hello.status().message();
      continue;
    }
    const cluster::v1::FollowerHello& h = hello->hello();
    if (absl::Status token = cluster::CheckJoinToken(join_token_, h.join_token(), "this leader");
        hello->has_hello() && !token.ok()) {
      TPS_LOG(kWarning) << "refused a follower claiming rank " << h.rank() << ": "
                        << token.message();
      continue;
    }
    if (!hello->has_hello() || h.protocol_version() != cluster::v1::STEP_PROTOCOL_VERSION ||
        h.rank() < 1 || h.rank() >= world || conns_[static_cast<size_t>(h.rank() - 1)] != nullptr) {
      TPS_LOG(kWarning) << "refused a follower: " << hello->ShortDebugString()
                        << " (this leader: " << world << " ranks, protocol "
                        << cluster::v1::STEP_PROTOCOL_VERSION << ", " << connected()
                        << " connected)";
      continue;
    }
    cluster::v1::ControlMessage m;
    *m.mutable_setup() = setup;
    if (absl::Status s = (*conn)->Send(m); !s.ok()) {
      TPS_LOG(kWarning) << "rank " << h.rank() << " left before its setup: " << s.message();
      continue;
    }
    conns_[static_cast<size_t>(h.rank() - 1)] = std::move(*conn);
  }
  return absl::OkStatus();
}

absl::Status FollowerSet::WaitReady(absl::Time deadline) {
  for (size_t i = 0; i < conns_.size(); ++i) {
    const int rank = static_cast<int>(i) + 1;
    if (conns_[i] == nullptr)
      return absl::UnavailableError(absl::StrCat("rank ", rank, " is not connected"));
    absl::StatusOr<cluster::v1::ControlMessage> ready =
        conns_[i]->Receive(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (!ready.ok())
      return Annotate(ready.status(), absl::StrCat("rank ", rank, " (waiting for it to load)"));
    if (!ready->has_ready())
      return absl::InternalError(absl::StrCat("rank ", rank, ": expected ready"));
    if (!ready->ready().error().empty()) {
      return absl::UnavailableError(
          absl::StrCat("rank ", rank, " failed to load: ", ready->ready().error()));
    }
  }
  return absl::OkStatus();
}

absl::Status FollowerSet::SendAll(const cluster::v1::ControlMessage& message) {
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i] == nullptr)
      return absl::UnavailableError(absl::StrCat("rank ", i + 1, " is not connected"));
    TPS_RETURN_IF_ERROR_CTX(conns_[i]->Send(message), "rank ", i + 1);
  }
  return absl::OkStatus();
}

void FollowerSet::SendShutdown(const std::string& reason) {
  cluster::v1::ControlMessage bye;
  bye.mutable_shutdown()->set_reason(reason);
  for (auto& c : conns_) {
    if (c) (void)c->Send(bye);
  }
}

absl::Status FollowerSet::CheckOpen() {
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i] == nullptr) continue;
    TPS_RETURN_IF_ERROR_CTX(conns_[i]->CheckOpen(), "rank ", i + 1);
  }
  return absl::OkStatus();
}

void FollowerSet::Close() {
  for (auto& c : conns_) c.reset();
}

}  // namespace tpserve::worker
