// /metrics over HTTP (checked with promtool when it is installed), the grpc.health.v1 service and
// server reflection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "prometheus/exposer.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;
using testing::FakeLeader;
using ::testing::HasSubstr;
using testing::LeaderScript;

// One exposer per process (its teardown takes ~2 s); never destroyed.
prometheus::Exposer& ProcessExposer() {
  static prometheus::Exposer* exposer = new prometheus::Exposer("127.0.0.1:0");
  return *exposer;
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// "name{labels}" -> value, for every sample line.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() { ProcessExposer().RegisterCollectable(tc_.registry); }
  ~MetricsTest() override { ProcessExposer().RemoveCollectable(tc_.registry); }

  std::string Scrape() { return HttpGet(ProcessExposer().GetListeningPorts().at(0), "/metrics"); }
  double Sample(const std::string& series) {
    const auto samples = ParseSamples(Scrape());
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }

  testing::TestCoordinator tc_;
  std::string dir_ = testing::MakeModelDir();
};

TEST_F(MetricsTest, ValuesMoveAsRequestsFlowAndPromtoolAccepts) {
  std::atomic<bool> stall{false};
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    LeaderScript s;
    s.responses = testing::TokenResponses(testing::Ids("four tokens of text<|im_end|>"), 1);
    if (stall) {
      s.responses.back().set_done(false);
      s.end = LeaderScript::End::kStall;
    }
    return s;
  });
  auto worker = tc_.AddReadyGroup("m", dir_, "g1", leader);
  tc_.coordinator->Housekeeping();
  EXPECT_EQ(Sample(R"(tpserve_workers{state="ready"})"), 1);
  EXPECT_EQ(Sample(R"(tpserve_groups{model="m",state="ready"})"), 1);

  auto stub = tc_.ChatStub();
  testing::ChatResult r = testing::RunChat(*stub, testing::SimpleRequest("m"));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const int completion = r.done().usage().completion_tokens();
  EXPECT_EQ(Sample(R"(tpserve_requests_total{finish_reason="stop",model="m",status="ok"})"), 1);
  EXPECT_EQ(Sample(R"(tpserve_generation_tokens_total{model="m"})"), completion);
  EXPECT_EQ(Sample(R"(tpserve_prompt_tokens_total{model="m"})"), r.done().usage().prompt_tokens());
  EXPECT_EQ(Sample(R"(tpserve_time_to_first_token_seconds_count{model="m"})"), 1);
  EXPECT_EQ(Sample(R"(tpserve_inter_token_latency_seconds_count{model="m"})"), completion - 1);
  EXPECT_EQ(Sample(R"(tpserve_e2e_request_latency_seconds_count{model="m"})"), 1);
  EXPECT_EQ(Sample(R"(tpserve_request_queue_time_seconds_count{model="m"})"), 1);

  // A bad request and an unknown model count too (the unknown name is not a label value).
  pb::ChatRequest bad = testing::SimpleRequest("m");
  bad.set_max_tokens(0);
  testing::RunChat(*stub, bad);
  testing::RunChat(*stub, testing::SimpleRequest("whatever-a-client-sends"));
  EXPECT_EQ(
      Sample(R"(tpserve_requests_total{finish_reason="none",model="m",status="invalid_argument"})"),
      1);
  EXPECT_EQ(
      Sample(R"(tpserve_requests_total{finish_reason="none",model="unknown",status="not_found"})"),
      1);

  // A stream in flight is running; cancelled, it is counted as such.
  stall = true;
  grpc::ClientContext context;
  auto reader = stub->Chat(&context, testing::SimpleRequest("m"));
  pb::ChatResponse first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_EQ(Sample(R"(tpserve_requests_running{model="m"})"), 1);
  context.TryCancel();
  reader->Finish();
  ASSERT_TRUE(testing::WaitFor([&] { return tc_.coordinator->live_calls() == 0; }));
  EXPECT_EQ(Sample(R"(tpserve_requests_running{model="m"})"), 0);
  EXPECT_EQ(
      Sample(R"(tpserve_requests_total{finish_reason="cancelled",model="m",status="cancelled"})"),
      1);

  // The worker goes silent: out of the gauges after the lease.
  tc_.clock.Advance(absl::Seconds(3));
  tc_.coordinator->Housekeeping();
  EXPECT_EQ(Sample(R"(tpserve_workers{state="ready"})"), 0);
  EXPECT_EQ(Sample(R"(tpserve_groups{model="m",state="ready"})"), 0);

  const std::string text = Scrape();
  for (const char* name :
       {"tpserve_time_to_first_token_seconds", "tpserve_inter_token_latency_seconds",
        "tpserve_e2e_request_latency_seconds", "tpserve_request_queue_time_seconds",
        "tpserve_requests_total", "tpserve_prompt_tokens_total", "tpserve_generation_tokens_total",
        "tpserve_requests_running", "tpserve_requests_waiting", "tpserve_workers",
        "tpserve_groups"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + name + " ")) << name;
  }
  if (std::system("promtool --version > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool (Debian package prometheus) is not installed";
  }
  // Only our families: the exposer's own metrics are prometheus-cpp's business.
  std::string ours;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("tpserve_") != std::string::npos) ours += line + "\n";
  }
  const std::string file = ::tpserve::testing::MakeTempDir() + "/metrics.txt";
  std::ofstream(file) << ours;
  const std::string cmd = "promtool check metrics < " + file + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string report;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) report += buf;
  EXPECT_EQ(pclose(p), 0) << report;
  EXPECT_EQ(report, "") << report;
}

// grpc.health.v1.Health/Check with a hand-encoded request (no health.proto is packaged).
// Returns the serving status (1 SERVING, 2 NOT_SERVING) or -(gRPC code).
int HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::GenericStub stub(channel);
  std::string req;
  if (!service.empty()) {
    req.push_back(0x0A);
    req.push_back(static_cast<char>(service.size()));
    req += service;
  }
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
  grpc::ClientContext context;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) return -static_cast<int>(status.error_code());
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

TEST(HealthTest, ServingOnceAModelHasAReadyReplica) {
  testing::TestCoordinator tc;
  auto channel = grpc::CreateChannel(tc.client_address(), grpc::InsecureChannelCredentials());
  tc.coordinator->Housekeeping();
  EXPECT_EQ(HealthCheck(channel, ""), 2);
  EXPECT_EQ(HealthCheck(channel, "tpserve.v1.ChatService"), 2);
  FakeLeader leader([](const cpb::GenerateRequest&) { return LeaderScript(); });
  auto worker = tc.AddReadyGroup("m", testing::MakeModelDir(), "g1", leader);
  tc.coordinator->Housekeeping();
  EXPECT_EQ(HealthCheck(channel, ""), 1);
  EXPECT_EQ(HealthCheck(channel, "tpserve.v1.ChatService"), 1);
  EXPECT_EQ(HealthCheck(channel, "m"), 1);
  EXPECT_EQ(HealthCheck(channel, "other"), -static_cast<int>(grpc::StatusCode::NOT_FOUND));
  ASSERT_TRUE(worker->Heartbeat(cpb::WORKER_STATE_FAILED));
  tc.coordinator->Housekeeping();
  EXPECT_EQ(HealthCheck(channel, "m"), 2);
  EXPECT_EQ(HealthCheck(channel, ""), 2);
}

TEST(ReflectionTest, ListsTheChatService) {
  testing::TestCoordinator tc;
  auto channel = grpc::CreateChannel(tc.client_address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  void* tag;
  bool ok;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  const std::string req = std::string("\x3A\x01*", 3);  // list_services: "*"
  grpc::Slice slice(req);
  grpc::ByteBuffer request(&slice, 1), response;
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  call->Read(&response, reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("tpserve.v1.ChatService"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
}

}  // namespace
}  // namespace tpserve::coordinator
