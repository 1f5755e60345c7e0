// The control channel of a tensor-parallel group: the leader's TCP listener and one framed
// connection per follower, carrying ControlMessages (setup, hello/ready, step plans, shutdown),
// each as a 4-byte little-endian length plus the serialized protobuf. Never tensors.
//
// Blocking I/O with deadlines (poll); a peer that dies closes its socket, so the other side gets
// Unavailable at once rather than waiting for a timeout. Not thread-safe per connection.
#ifndef TPSERVE_WORKER_CONTROL_CHANNEL_H_
#define TPSERVE_WORKER_CONTROL_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tpserve/cluster/v1/step.pb.h"

namespace tpserve::worker {

inline constexpr uint32_t kMaxControlFrameBytes = 64u << 20;

class ControlConnection {
 public:
  explicit ControlConnection(int fd) : fd_(fd) {}
  ~ControlConnection();
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  absl::Status Send(const cluster::v1::ControlMessage& message);
  // Waits up to `timeout` (InfiniteDuration: forever) for the next message.
  absl::StatusOr<cluster::v1::ControlMessage> Receive(absl::Duration timeout);
  // Waits up to `timeout` for data (or the peer's close) without reading it: true when a
  // Receive would not block. Lets a loop check a stop flag between messages without ever
  // abandoning a frame half read.
  bool WaitReadable(absl::Duration timeout);
  // Unavailable when the peer has closed the connection (or it broke); reads nothing.
  absl::Status CheckOpen();

 private:
  absl::Status ReadFull(char* data, size_t n, absl::Time deadline);
  int fd_;
};

class ControlServer {
 public:
  // Listens on `host`:`port` (port 0: any free port).
  static absl::StatusOr<std::unique_ptr<ControlServer>> Listen(const std::string& host, int port);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int port() const { return port_; }
  absl::StatusOr<std::unique_ptr<ControlConnection>> Accept(absl::Duration timeout);

 private:
  ControlServer(int fd, int port) : fd_(fd), port_(port) {}
  int fd_;
  int port_;
};

// Connects to a leader at "host:port", retrying until `timeout`.
absl::StatusOr<std::unique_ptr<ControlConnection>> ConnectControl(const std::string& address,
                                                                  absl::Duration timeout);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_CONTROL_CHANNEL_H_
