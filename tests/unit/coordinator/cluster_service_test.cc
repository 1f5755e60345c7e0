#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace cpb = ::tpserve::cluster::v1;
using testing::FakeWorker;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

class ClusterServiceTest : public ::testing::Test {
 protected:
  std::string dir_ = testing::MakeModelDir();
};

TEST_F(ClusterServiceTest, RegisterAnswersTheAssignmentAndLease) {
  testing::TestCoordinator tc;
  FakeWorker w(tc.cluster_channel(), "w1", "127.0.0.1:9");
  cpb::RegisterResponse response;
  ASSERT_TRUE(w.Register(testing::MakeAssignment("m", dir_, "g", 0, 1), "", &response).ok());
  EXPECT_EQ(response.assignment().model(), "m");
  EXPECT_EQ(response.assignment().model_dir(), dir_);
  EXPECT_EQ(response.heartbeat_interval_ms(), 1000);
  EXPECT_EQ(response.lease_ms(), 2000);
  EXPECT_TRUE(w.Heartbeat(cpb::WORKER_STATE_READY));
  EXPECT_TRUE(tc.coordinator->membership().Group({"m", "g"})->ready());
}

TEST_F(ClusterServiceTest, ProtocolVersionMismatchNamesBothVersions) {
  testing::TestCoordinator tc;
  FakeWorker w(tc.cluster_channel(), "w1", "127.0.0.1:9");
  const grpc::Status s = w.Register(testing::MakeAssignment("m", dir_, "g"), "", nullptr, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), AllOf(HasSubstr("worker speaks version 1"),
                                       HasSubstr("coordinator speaks version 3")));
  // Protocol 2 read a 0 top_p / repetition_penalty as "unset": its workers are refused too.
  FakeWorker old(tc.cluster_channel(), "w2", "127.0.0.1:10");
  const grpc::Status v2 = old.Register(testing::MakeAssignment("m", dir_, "g"), "", nullptr, 2);
  EXPECT_EQ(v2.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(v2.error_message(), HasSubstr("worker speaks version 2"));
}

TEST_F(ClusterServiceTest, JoinTokenIsRequired) {
  CoordinatorOptions options = testing::TestCoordinator::DefaultOptions();
  options.join_token = "s3cret-join";
  testing::TestCoordinator tc(options);
  FakeWorker w(tc.cluster_channel(), "w1", "127.0.0.1:9");
  const cpb::Assignment a = testing::MakeAssignment("m", dir_, "g");
  grpc::Status s = w.Register(a);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("join token missing"));
  s = w.Register(a, "s3cret-joiN");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("join token wrong"));
  EXPECT_TRUE(w.Register(a, "s3cret-join").ok());
}

// Every cluster call carries the token, not only Register: a process that knows a worker id (or a
// store key) but not the token can neither keep a lease alive nor read or write the rendezvous
// store.
TEST_F(ClusterServiceTest, HeartbeatAndStoreCallsNeedTheJoinTokenToo) {
  CoordinatorOptions options = testing::TestCoordinator::DefaultOptions();
  options.join_token = "s3cret-join";
  testing::TestCoordinator tc(options);
  FakeWorker w(tc.cluster_channel(), "w1", "127.0.0.1:9");
  ASSERT_TRUE(w.Register(testing::MakeAssignment("m", dir_, "g"), "s3cret-join").ok());
  auto stub = cpb::Coordinator::NewStub(tc.cluster_channel());
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(5); };
  for (const std::string token : {"", "wrong"}) {
    SCOPED_TRACE("token '" + token + "'");
    const std::string why = token.empty() ? "join token missing" : "join token wrong";
    {
      grpc::ClientContext context;
      context.set_deadline(deadline());
      cpb::HeartbeatRequest request;
      request.set_worker_id("w1");
      request.set_join_token(token);
      cpb::HeartbeatResponse response;
      const grpc::Status s = stub->Heartbeat(&context, request, &response);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_THAT(s.error_message(), HasSubstr(why));
    }
    {
      grpc::ClientContext context;
      context.set_deadline(deadline());
      cpb::StoreSetRequest request;
      request.set_key("group/m/g/control");
      request.set_value("10.0.0.66:1");
      request.set_join_token(token);
      cpb::StoreSetResponse response;
      const grpc::Status s = stub->StoreSet(&context, request, &response);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_THAT(s.error_message(), HasSubstr(why));
    }
    {
      grpc::ClientContext context;
      context.set_deadline(deadline());
      cpb::StoreWaitRequest request;
      request.set_key("k");
      request.set_timeout_ms(10);
      request.set_join_token(token);
      cpb::StoreWaitResponse response;
      const grpc::Status s = stub->StoreWait(&context, request, &response);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_THAT(s.error_message(), HasSubstr(why));
    }
  }
  // Nothing the refused calls sent reached the store; with the token, both calls work.
  EXPECT_THAT(tc.coordinator->store().Wait("group/m/g/control", absl::Milliseconds(10)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  grpc::ClientContext set_context;
  set_context.set_deadline(deadline());
  cpb::StoreSetRequest set;
  set.set_key("k");
  set.set_value("v");
  set.set_join_token("s3cret-join");
  cpb::StoreSetResponse set_response;
  EXPECT_TRUE(stub->StoreSet(&set_context, set, &set_response).ok());
  grpc::ClientContext wait_context;
  wait_context.set_deadline(deadline());
  cpb::StoreWaitRequest wait;
  wait.set_key("k");
  wait.set_timeout_ms(1000);
  wait.set_join_token("s3cret-join");
  cpb::StoreWaitResponse wait_response;
  EXPECT_TRUE(stub->StoreWait(&wait_context, wait, &wait_response).ok());
  EXPECT_EQ(wait_response.value(), "v");
  grpc::ClientContext hb_context;
  hb_context.set_deadline(deadline());
  cpb::HeartbeatRequest hb;
  hb.set_worker_id("w1");
  hb.set_join_token("s3cret-join");
  cpb::HeartbeatResponse hb_response;
  EXPECT_TRUE(stub->Heartbeat(&hb_context, hb, &hb_response).ok());
  EXPECT_TRUE(hb_response.known());
}

TEST_F(ClusterServiceTest, ModelTheCoordinatorCannotLoadIsRefused) {
  testing::TestCoordinator tc;
  FakeWorker w(tc.cluster_channel(), "w1", "127.0.0.1:9");
  const grpc::Status s = w.Register(testing::MakeAssignment("m", "/no/such/model", "g"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("/no/such/model"));
  EXPECT_TRUE(tc.coordinator->membership().Groups().empty());
}

TEST_F(ClusterServiceTest, UnassignedWorkerIsPlacedFromTheCatalogue) {
  const std::string small = testing::MakeModelDir({.preset = "0.8b"});
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Catalogue> catalogue,
      Catalogue::FromJsonText(R"({"models": [{"name": "qwen-small", "path": ")" + small + R"("}]})",
                              "cat.json", ""));
  testing::TestCoordinator tc(testing::TestCoordinator::DefaultOptions(), std::move(catalogue));
  FakeWorker w(tc.cluster_channel(), "mac-1", "127.0.0.1:9");
  cpb::DeviceInfo device;
  device.set_kind("metal");
  device.set_free_memory_bytes(64ull << 30);
  cpb::RegisterResponse response;
  ASSERT_TRUE(
      w.Register(cpb::Assignment(), "", &response, cpb::CLUSTER_PROTOCOL_VERSION, device).ok());
  EXPECT_EQ(response.assignment().model(), "qwen-small");
  EXPECT_EQ(response.assignment().model_dir(), small);
  EXPECT_EQ(response.assignment().group(), "auto-mac-1");
  EXPECT_EQ(response.assignment().world_size(), 1);

  FakeWorker tiny(tc.cluster_channel(), "pi-1", "127.0.0.1:10");
  device.set_free_memory_bytes(1 << 20);
  const grpc::Status s =
      tiny.Register(cpb::Assignment(), "", nullptr, cpb::CLUSTER_PROTOCOL_VERSION, device);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("qwen-small, needs"));
}

TEST_F(ClusterServiceTest, RestartedCoordinatorAnswersUnknown) {
  std::shared_ptr<grpc::Channel> channel;
  int port;
  {
    testing::TestCoordinator first;
    FakeWorker w(first.cluster_channel(), "w1", "127.0.0.1:9");
    ASSERT_TRUE(w.Register(testing::MakeAssignment("m", dir_, "g")).ok());
    ASSERT_TRUE(w.Heartbeat(cpb::WORKER_STATE_READY));
    port = first.coordinator->cluster_port();
  }
  CoordinatorOptions options = testing::TestCoordinator::DefaultOptions();
  options.cluster_listen = "127.0.0.1:" + std::to_string(port);  // same address again
  testing::TestCoordinator second(options);
  FakeWorker w(second.cluster_channel(), "w1", "127.0.0.1:9");
  EXPECT_FALSE(w.Heartbeat(cpb::WORKER_STATE_READY));
  ASSERT_TRUE(w.Register(testing::MakeAssignment("m", dir_, "g")).ok());
  EXPECT_TRUE(w.Heartbeat(cpb::WORKER_STATE_READY));
}

TEST_F(ClusterServiceTest, StoreWaitBlocksOnlyItsCaller) {
  testing::TestCoordinator tc;
  std::shared_ptr<grpc::Channel> channel = tc.cluster_channel();
  constexpr int kWaiters = 24;  // more than gRPC has callback threads on 2 cores
  std::vector<std::string> values(kWaiters);
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      auto stub = cpb::Coordinator::NewStub(channel);
      cpb::StoreWaitRequest request;
      request.set_key("group/m/g/control");
      request.set_timeout_ms(10000);
      cpb::StoreWaitResponse response;
      grpc::ClientContext context;
      const grpc::Status s = stub->StoreWait(&context, request, &response);
      EXPECT_TRUE(s.ok()) << s.error_message();
      values[i] = response.value();
    });
  }
  ASSERT_TRUE(
      testing::WaitFor([&] { return tc.coordinator->store().pending_waits() == kWaiters; }));
  // Other RPCs still go through while the waits are pending.
  FakeWorker w(channel, "w1", "127.0.0.1:9");
  ASSERT_TRUE(w.Register(testing::MakeAssignment("m", dir_, "g")).ok());
  auto stub = cpb::Coordinator::NewStub(channel);
  cpb::StoreSetRequest set;
  set.set_key("group/m/g/control");
  set.set_value("10.0.0.1:7000");
  cpb::StoreSetResponse set_response;
  grpc::ClientContext set_context;
  ASSERT_TRUE(stub->StoreSet(&set_context, set, &set_response).ok());
  for (auto& t : waiters) t.join();
  for (const std::string& v : values) EXPECT_EQ(v, "10.0.0.1:7000");
}

TEST_F(ClusterServiceTest, StoreWaitTimesOutNamingTheKey) {
  testing::TestCoordinator tc;
  auto stub = cpb::Coordinator::NewStub(tc.cluster_channel());
  cpb::StoreWaitRequest request;
  request.set_key("group/m/g/never");
  request.set_timeout_ms(50);
  cpb::StoreWaitResponse response;
  grpc::ClientContext context;
  const grpc::Status s = stub->StoreWait(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(s.error_message(), HasSubstr("group/m/g/never"));
}

TEST_F(ClusterServiceTest, CancelledStoreWaitLeavesNoWaiter) {
  testing::TestCoordinator tc;
  auto stub = cpb::Coordinator::NewStub(tc.cluster_channel());
  cpb::StoreWaitRequest request;
  request.set_key("k");
  request.set_timeout_ms(60000);
  cpb::StoreWaitResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  EXPECT_EQ(stub->StoreWait(&context, request, &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(testing::WaitFor([&] { return tc.coordinator->store().pending_waits() == 0; }));
}

}  // namespace
}  // namespace tpserve::coordinator
