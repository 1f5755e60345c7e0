#include "worker/control_channel.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tpserve::worker {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

int RemainingMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

absl::Status WaitFd(int fd, short events, absl::Time deadline, const char* what) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, RemainingMs(deadline));
    if (r > 0) return absl::OkStatus();
    if (r == 0)
      return absl::DeadlineExceededError(absl::StrCat("control channel: ", what, " timed out"));
    if (errno != EINTR) return Errno(absl::StrCat("control channel: poll (", what, ")"));
  }
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

ControlConnection::~ControlConnection() {
  if (fd_ >= 0) close(fd_);
}

absl::Status ControlConnection::Send(const cluster::v1::ControlMessage& message) {
  std::string body;
  if (!message.SerializeToString(&body))
    return absl::InternalError("control channel: serialize failed");
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i)
    frame[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  frame += body;
  size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t w = send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("control channel: send (peer gone?)");
    }
    sent += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status ControlConnection::ReadFull(char* data, size_t n, absl::Time deadline) {
  size_t got = 0;
  while (got < n) {
    if (absl::Status s = WaitFd(fd_, POLLIN, deadline, "receive"); !s.ok()) return s;
    const ssize_t r = recv(fd_, data + got, n - got, 0);
    if (r == 0) return absl::UnavailableError("control channel: connection closed by the peer");
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Errno("control channel: recv");
    }
    got += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

absl::StatusOr<cluster::v1::ControlMessage> ControlConnection::Receive(absl::Duration timeout) {
  const absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  unsigned char header[4];
  if (absl::Status s = ReadFull(reinterpret_cast<char*>(header), 4, deadline); !s.ok()) return s;
  const uint32_t n =
      header[0] | (header[1] << 8) | (header[2] << 16) | (static_cast<uint32_t>(header[3]) << 24);
  if (n > kMaxControlFrameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "control channel: frame of ", n, " bytes exceeds the limit ", kMaxControlFrameBytes));
  }
  std::string body(n, '\0');
  if (absl::Status s = ReadFull(body.data(), n, deadline); !s.ok()) return s;
  cluster::v1::ControlMessage m;
  if (!m.ParseFromString(body))
    return absl::InvalidArgumentError("control channel: malformed message");
  return m;
}

bool ControlConnection::WaitReadable(absl::Duration timeout) {
  pollfd p{fd_, POLLIN, 0};
  const int64_t ms = timeout == absl::InfiniteDuration() ? -1 : absl::ToInt64Milliseconds(timeout);
  const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
  return r != 0;  // ready, or an error a Receive will report
}

absl::Status ControlConnection::CheckOpen() {
  pollfd p{fd_, static_cast<short>(POLLIN | POLLRDHUP), 0};
  const int r = poll(&p, 1, 0);
  if (r <= 0) return absl::OkStatus();
  if ((p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0) {
    return absl::UnavailableError("control channel: connection closed by the peer");
  }
  char c;
  const ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return absl::UnavailableError("control channel: connection closed by the peer");
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    return Errno("control channel: connection broke");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Listen(const std::string& host,
                                                                     int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("control channel: socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("control channel: '", host, "' is not an IPv4 address"));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    absl::Status s = Errno(absl::StrCat("control channel: bind/listen on ", host, ":", port));
    close(fd);
    return s;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<ControlServer>(new ControlServer(fd, ntohs(addr.sin_port)));
}

ControlServer::~ControlServer() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<std::unique_ptr<ControlConnection>> ControlServer::Accept(absl::Duration timeout) {
  if (absl::Status s = WaitFd(fd_, POLLIN, absl::Now() + timeout, "accept"); !s.ok()) return s;
  const int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return Errno("control channel: accept");
  SetNoDelay(fd);
  return std::make_unique<ControlConnection>(fd);
}

absl::StatusOr<std::unique_ptr<ControlConnection>> ConnectControl(const std::string& address,
                                                                  absl::Duration timeout) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("control address '", address, "' is not host:port"));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("control address '", address, "': host is not IPv4"));
  }
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Errno("control channel: socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      SetNoDelay(fd);
      return std::make_unique<ControlConnection>(fd);
    }
    const int err = errno;
    close(fd);
    if (absl::Now() > deadline) {
      errno = err;
      return Errno(absl::StrCat("control channel: connect to ", address));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace tpserve::worker
