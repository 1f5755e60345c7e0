#include "worker/control_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "worker/follower_set.h"

namespace tpserve::worker {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

TEST(ControlChannelTest, MessagesCrossInOrderBothWays) {
  ASSERT_OK_AND_ASSIGN(auto server, ControlServer::Listen("127.0.0.1", 0));
  std::thread client([port = server->port()] {
    ASSERT_OK_AND_ASSIGN(auto conn,
                         ConnectControl(absl::StrCat("127.0.0.1:", port), absl::Seconds(5)));
    cluster::v1::ControlMessage hello;
    hello.mutable_hello()->set_rank(3);
    ASSERT_OK(conn->Send(hello));
    for (int i = 0; i < 100; ++i) {
      ASSERT_OK_AND_ASSIGN(cluster::v1::ControlMessage m, conn->Receive(absl::Seconds(5)));
      ASSERT_TRUE(m.has_step());
      ASSERT_EQ(m.step().step_id(), static_cast<uint64_t>(i));
    }
  });
  ASSERT_OK_AND_ASSIGN(auto conn, server->Accept(absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(cluster::v1::ControlMessage hello, conn->Receive(absl::Seconds(5)));
  EXPECT_EQ(hello.hello().rank(), 3);
  for (int i = 0; i < 100; ++i) {
    cluster::v1::ControlMessage m;
    m.mutable_step()->set_step_id(static_cast<uint64_t>(i));
    m.mutable_step()->add_sequences()->mutable_token_ids()->Add(i);
    ASSERT_OK(conn->Send(m));
  }
  client.join();
}

// The leader gives its GroupSetup (and later its step plans) only to followers that present the
// cluster's join token: an impostor's hello is answered by closing the connection.
TEST(ControlChannelTest, FollowersWithoutTheJoinTokenGetNoSetup) {
  ASSERT_OK_AND_ASSIGN(auto server, ControlServer::Listen("127.0.0.1", 0));
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  auto hello = [](const std::string& token) {
    cluster::v1::ControlMessage m;
    m.mutable_hello()->set_protocol_version(cluster::v1::STEP_PROTOCOL_VERSION);
    m.mutable_hello()->set_rank(1);
    m.mutable_hello()->set_join_token(token);
    return m;
  };
  std::thread followers([&] {
    for (const std::string token : {"", "not-the-token"}) {
      ASSERT_OK_AND_ASSIGN(auto conn, ConnectControl(address, absl::Seconds(5)));
      ASSERT_OK(conn->Send(hello(token)));
      EXPECT_THAT(conn->Receive(absl::Seconds(5)), StatusIs(absl::StatusCode::kUnavailable))
          << "token '" << token << "'";
    }
    ASSERT_OK_AND_ASSIGN(auto conn, ConnectControl(address, absl::Seconds(5)));
    ASSERT_OK(conn->Send(hello("the-token")));
    ASSERT_OK_AND_ASSIGN(cluster::v1::ControlMessage setup, conn->Receive(absl::Seconds(5)));
    EXPECT_TRUE(setup.has_setup());
    EXPECT_EQ(setup.setup().model_dir(), "/m");
  });
  FollowerSet set(2, "the-token");
  cluster::v1::GroupSetup setup;
  setup.set_model_dir("/m");
  ASSERT_OK(set.AcceptAll(*server, setup, absl::Now() + absl::Seconds(20), {}));
  EXPECT_EQ(set.connected(), 1);
  followers.join();
}

TEST(ControlChannelTest, ClosedPeerIsUnavailableNotAHang) {
  ASSERT_OK_AND_ASSIGN(auto server, ControlServer::Listen("127.0.0.1", 0));
  {
    ASSERT_OK_AND_ASSIGN(
        auto conn, ConnectControl(absl::StrCat("127.0.0.1:", server->port()), absl::Seconds(5)));
  }  // closed at once
  ASSERT_OK_AND_ASSIGN(auto conn, server->Accept(absl::Seconds(5)));
  EXPECT_THAT(conn->Receive(absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("closed by the peer")));
}

TEST(ControlChannelTest, ReceiveTimesOut) {
  ASSERT_OK_AND_ASSIGN(auto server, ControlServer::Listen("127.0.0.1", 0));
  ASSERT_OK_AND_ASSIGN(
      auto client, ConnectControl(absl::StrCat("127.0.0.1:", server->port()), absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(auto conn, server->Accept(absl::Seconds(5)));
  EXPECT_THAT(conn->Receive(absl::Milliseconds(50)), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(ControlChannelTest, OversizedFrameIsRefused) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ControlConnection conn(fds[0]);
  const unsigned char header[4] = {0xff, 0xff, 0xff, 0x7f};
  ASSERT_EQ(write(fds[1], header, 4), 4);
  EXPECT_THAT(conn.Receive(absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exceeds the limit")));
  close(fds[1]);
}

TEST(ControlChannelTest, BadAddressesAreNamed) {
  EXPECT_THAT(ConnectControl("no-port", absl::Milliseconds(10)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not host:port")));
  EXPECT_THAT(ControlServer::Listen("localhost", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an IPv4 address")));
}

}  // namespace
}  // namespace tpserve::worker
