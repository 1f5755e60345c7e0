// FollowerSet: a group leader's control connections to its followers, by rank. It runs the
// leader's half of the control-channel protocol: accept each follower's hello, answer with the
// GroupSetup, collect the ready reports, then send every step plan to all of them. Owned by the
// GroupLeader.
//
// Not thread-safe: owned by the leader's group thread. CheckOpen() only polls, so it is cheap
// enough to call between steps.
#ifndef TPSERVE_WORKER_FOLLOWER_SET_H_
#define TPSERVE_WORKER_FOLLOWER_SET_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tpserve/cluster/v1/step.pb.h"
#include "worker/control_channel.h"

namespace tpserve::worker {

class FollowerSet {
 public:
  // `join_token` (may be empty: not checked): the cluster's token each hello must carry.
  explicit FollowerSet(int world_size, std::string join_token = "")
      : join_token_(std::move(join_token)),
        conns_(static_cast<size_t>(world_size > 1 ? world_size - 1 : 0)) {}

  // Accepts connections on `server` until every rank 1..world_size-1 has said hello; each gets
  // `setup` at once. `check` (may be empty) runs between accept attempts; its error ends the wait.
  // A hello with another protocol version, without the join token, with an out-of-range rank or
  // a rank already connected is answered by closing that connection (logged), and the wait goes
  // on.
  absl::Status AcceptAll(ControlServer& server, const cluster::v1::GroupSetup& setup,
                         absl::Time deadline, const std::function<absl::Status()>& check);
  // Waits for every follower's FollowerReady; Unavailable naming the rank that failed to load.
  absl::Status WaitReady(absl::Time deadline);
  // Sends `message` to every follower (a step plan); the error names the rank.
  absl::Status SendAll(const cluster::v1::ControlMessage& message);
  // Best-effort Shutdown to every connected follower.
  void SendShutdown(const std::string& reason);
  // OK while every follower's connection is open; Unavailable naming the first closed rank.
  absl::Status CheckOpen();
  // Closes every connection (followers see the group end).
  void Close();

  int world_size() const { return static_cast<int>(conns_.size()) + 1; }
  int connected() const;

 private:
  std::string join_token_;
  std::vector<std::unique_ptr<ControlConnection>> conns_;  // [rank - 1]
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_FOLLOWER_SET_H_
