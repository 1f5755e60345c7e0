// Registration + heartbeats against a fake coordinator on loopback.
#include "worker/registration.h"

#include <atomic>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_cert.h"
#include "tests/testing/test_env.h"
#include "tests/unit/worker/fake_coordinator.h"
#include "worker/coordinator_channel.h"

namespace tpserve::worker {
namespace {

using testing::FakeCoordinator;
using testing::FakeCoordinatorOptions;
using ::testing::HasSubstr;
using testing::WorkerRecord;
using tpserve::testing::StatusIs;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RegistrationOptions Options(const std::string& id) {
  RegistrationOptions o;
  o.worker_id = id;
  o.address = "127.0.0.1:7000";
  o.metrics_address = "127.0.0.1:7001";
  o.device.set_kind("cpu");
  o.device.set_free_memory_bytes(1 << 30);
  o.assignment.set_model("tiny");
  o.assignment.set_model_dir("/models/tiny");
  o.assignment.set_group("g0");
  o.assignment.set_rank(1);
  o.assignment.set_world_size(2);
  return o;
}

TEST(RegistrationTest, WorkerIdsAreDistinctPerProcessAndCall) {
  const std::string a = MakeWorkerId(), b = MakeWorkerId();
  EXPECT_NE(a, b);
  EXPECT_THAT(a, HasSubstr(std::to_string(getpid())));
}

TEST(RegistrationTest, RegistersAndHeartbeatsTheReportedState) {
  auto coordinator = FakeCoordinator::Start({.heartbeat_interval_ms = 50});
  ASSERT_NE(coordinator, nullptr);
  Registration r(MakeCoordinatorChannel(coordinator->address()), Options("w1"));
  ASSERT_OK_AND_ASSIGN(cluster::v1::Assignment a, r.Register(absl::Seconds(5)));
  EXPECT_EQ(a.group(), "g0");
  EXPECT_EQ(r.heartbeat_interval(), absl::Milliseconds(50));
  std::atomic<int> state{cluster::v1::WORKER_STATE_LOADING};
  r.StartHeartbeats([&] {
    HeartbeatReport h;
    h.state = static_cast<cluster::v1::WorkerState>(state.load());
    h.detail = "loading the shard";
    cluster::v1::ReplicaLoad load;
    load.set_running_sequences(3);
    h.load = load;
    return h;
  });
  ASSERT_TRUE(coordinator->WaitFor(
      [](const auto& w) {
        return w.count("w1") && w.at("w1").heartbeats >= 2 &&
               w.at("w1").last_heartbeat.state() == cluster::v1::WORKER_STATE_LOADING;
      },
      absl::Seconds(5)));
  state = cluster::v1::WORKER_STATE_READY;
  ASSERT_TRUE(coordinator->WaitFor(
      [](const auto& w) {
        return w.at("w1").last_heartbeat.state() == cluster::v1::WORKER_STATE_READY &&
               w.at("w1").last_heartbeat.load().running_sequences() == 3;
      },
      absl::Seconds(5)));
  const WorkerRecord rec = coordinator->workers().at("w1");
  EXPECT_EQ(rec.registration.address(), "127.0.0.1:7000");
  EXPECT_EQ(rec.registration.metrics_address(), "127.0.0.1:7001");
  EXPECT_EQ(rec.registration.device().kind(), "cpu");
  EXPECT_EQ(rec.registration.protocol_version(), cluster::v1::CLUSTER_PROTOCOL_VERSION);
  r.Stop(HeartbeatReport{cluster::v1::WORKER_STATE_FAILED, "shutting down", std::nullopt});
  EXPECT_EQ(coordinator->workers().at("w1").last_heartbeat.detail(), "shutting down");
}

TEST(RegistrationTest, UnknownToTheCoordinatorRegistersAgainWithTheSameIdAndAssignment) {
  auto coordinator = FakeCoordinator::Start({.heartbeat_interval_ms = 30});
  ASSERT_NE(coordinator, nullptr);
  Registration r(MakeCoordinatorChannel(coordinator->address()), Options("w2"));
  ASSERT_OK(r.Register(absl::Seconds(5)).status());
  r.StartHeartbeats([] {
    return HeartbeatReport{cluster::v1::WORKER_STATE_READY, "", std::nullopt};
  });
  ASSERT_TRUE(coordinator->WaitFor(
      [](const auto& w) { return w.count("w2") && w.at("w2").heartbeats >= 1; }, absl::Seconds(5)));
  coordinator->ForgetWorkers();  // as after a coordinator restart
  ASSERT_TRUE(coordinator->WaitFor(
      [](const auto& w) { return w.count("w2") && w.at("w2").heartbeats >= 1; }, absl::Seconds(5)));
  const WorkerRecord rec = coordinator->workers().at("w2");
  EXPECT_EQ(rec.registration.worker_id(), "w2");
  EXPECT_EQ(rec.registration.assignment().group(), "g0");
  EXPECT_EQ(rec.registration.assignment().rank(), 1);
  EXPECT_EQ(rec.last_heartbeat.state(), cluster::v1::WORKER_STATE_READY);
  EXPECT_EQ(r.registrations(), 2);
}

TEST(RegistrationTest, AnUnassignedWorkerTakesThePlacement) {
  FakeCoordinatorOptions fo;
  fo.placement.set_model("placed");
  fo.placement.set_model_dir("/models/placed");
  fo.placement.set_group("p1");
  fo.placement.set_world_size(1);
  auto coordinator = FakeCoordinator::Start(fo);
  ASSERT_NE(coordinator, nullptr);
  RegistrationOptions o = Options("w3");
  o.assignment.Clear();
  Registration r(MakeCoordinatorChannel(coordinator->address()), o);
  ASSERT_OK_AND_ASSIGN(cluster::v1::Assignment a, r.Register(absl::Seconds(5)));
  EXPECT_EQ(a.model(), "placed");
  EXPECT_EQ(a.group(), "p1");
  // Re-registration keeps the placement.
  r.StartHeartbeats([] { return HeartbeatReport{}; });
  coordinator->ForgetWorkers();
  ASSERT_TRUE(
      coordinator->WaitFor([](const auto& w) { return w.count("w3") > 0; }, absl::Seconds(5)));
  EXPECT_EQ(coordinator->workers().at("w3").registration.assignment().model(), "placed");
}

TEST(RegistrationTest, AWrongJoinTokenIsRefusedAtOnce) {
  auto coordinator = FakeCoordinator::Start({.join_token = "s3cret"});
  ASSERT_NE(coordinator, nullptr);
  RegistrationOptions o = Options("w4");
  o.join_token = "guess";
  Registration r(MakeCoordinatorChannel(coordinator->address()), o);
  const absl::Time start = absl::Now();
  EXPECT_THAT(r.Register(absl::Seconds(30)), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  o.join_token = "s3cret";
  Registration ok(MakeCoordinatorChannel(coordinator->address()), o);
  EXPECT_OK(ok.Register(absl::Seconds(5)).status());
}

TEST(RegistrationTest, RegisterWaitsForACoordinatorThatStartsLateAndHeartbeatsSurviveAnOutage) {
  int port = 0;
  {
    auto probe = FakeCoordinator::Start({});
    ASSERT_NE(probe, nullptr);
    port = probe->port();
  }
  Registration r(MakeCoordinatorChannel("127.0.0.1:" + std::to_string(port)), Options("w5"));
  std::unique_ptr<FakeCoordinator> coordinator;
  std::thread starter([&] {
    absl::SleepFor(absl::Milliseconds(300));
    coordinator = FakeCoordinator::Start({.heartbeat_interval_ms = 30}, port);
  });
  absl::StatusOr<cluster::v1::Assignment> a = r.Register(absl::Seconds(10));
  starter.join();
  ASSERT_NE(coordinator, nullptr);
  ASSERT_OK(a.status());
  r.StartHeartbeats([] {
    return HeartbeatReport{cluster::v1::WORKER_STATE_READY, "", std::nullopt};
  });
  ASSERT_TRUE(coordinator->WaitFor(
      [](const auto& w) { return w.count("w5") && w.at("w5").heartbeats > 0; }, absl::Seconds(5)));
  // The coordinator goes away and comes back empty (a restart): the worker registers again.
  coordinator.reset();
  absl::SleepFor(absl::Milliseconds(300));
  coordinator = FakeCoordinator::Start({.heartbeat_interval_ms = 30}, port);
  ASSERT_NE(coordinator, nullptr);
  ASSERT_TRUE(coordinator->WaitFor(
      [](const auto& w) { return w.count("w5") && w.at("w5").heartbeats > 0; }, absl::Seconds(10)));
  EXPECT_GE(r.registrations(), 2);
}

TEST(RegistrationTest, TlsToTheCoordinatorIsVerifiedAgainstTheGivenCa) {
  const tpserve::testing::TestCert* cert = tpserve::testing::MakeTestCert();
  if (cert == nullptr) GTEST_SKIP() << "openssl cannot make a test certificate";
  FakeCoordinatorOptions fo;
  fo.tls_cert_pem = ReadFile(cert->cert_path);
  fo.tls_key_pem = ReadFile(cert->key_path);
  auto coordinator = FakeCoordinator::Start(fo);
  ASSERT_NE(coordinator, nullptr);
  Registration tls(MakeCoordinatorChannel(coordinator->address(), fo.tls_cert_pem), Options("w6"));
  EXPECT_OK(tls.Register(absl::Seconds(10)).status());
  // A plaintext worker cannot talk to a TLS coordinator.
  Registration plain(MakeCoordinatorChannel(coordinator->address()), Options("w7"));
  EXPECT_THAT(plain.Register(absl::Milliseconds(500)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

}  // namespace
}  // namespace tpserve::worker
