// tpserve-worker as real processes: a fake coordinator in this process (Register, Heartbeat and
// the rendezvous store over real gRPC), a leader and a follower started independently on a golden
// tiny model, forming a group of 2 through the coordinator's store. Checks: greedy streams equal
// `tpserve generate`, 16 concurrent streams end exactly once, cancellation frees the slots on
// every rank, re-registration after the coordinator forgets, a SIGKILLed follower ends the
// leader's streams UNAVAILABLE at once and the group re-forms when the follower returns, SIGTERM
// drains.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ops/base/subprocess.h"
#include "tests/shard/golden_model.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tests/unit/worker/fake_coordinator.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"

namespace tpserve::worker {
namespace {

using cluster::v1::GenerateRequest;
using cluster::v1::GenerateResponse;
using testing::FakeCoordinator;
using ::testing::HasSubstr;
using testing::WorkerRecord;

constexpr char kModel[] = "tiny_r2_untied";
constexpr absl::Duration kStartup = absl::Seconds(30);

struct Process {
  std::vector<std::string> args;
  std::string log;
  std::string port_file;
  std::optional<Subprocess> process;
};

struct StreamResult {
  std::vector<int32_t> tokens;
  std::vector<GenerateResponse> responses;
  int done_messages = 0;
  grpc::Status status;
  absl::Time ended;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// GET http://127.0.0.1:port/path; the body, or "" on failure.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      std::array<char, 4096> buf;
      ssize_t n;
      while ((n = recv(fd, buf.data(), buf.size(), 0)) > 0)
        out.append(buf.data(), static_cast<size_t>(n));
    }
  }
  close(fd);
  const size_t body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

// The value of an unlabelled sample in a Prometheus exposition, or -1.
double MetricValue(const std::string& text, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos || line.substr(0, space) != name) continue;
    double v = -1;
    if (absl::SimpleAtod(line.substr(space + 1), &v)) return v;
  }
  return -1;
}

class WorkerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(manifest_, tpserve::testing::LoadGoldenManifest(kModel));
    dir_ = tpserve::testing::MakeTempDir();
    coordinator_ = FakeCoordinator::Start({.heartbeat_interval_ms = 100});
    ASSERT_NE(coordinator_, nullptr);
    follower_ = MakeProcess(1);
    leader_ = MakeProcess(0);
    // The follower first: it waits for the leader's address in the coordinator's store.
    Launch(follower_);
    Launch(leader_);
    ASSERT_TRUE(AwaitLeaderState(cluster::v1::WORKER_STATE_READY, kStartup)) << Logs();
    grpc_port_ = PortOf(leader_, "grpc");
    ASSERT_GT(grpc_port_, 0) << Logs();
    stub_ = cluster::v1::Leader::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                                             grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    for (Process* p : {&leader_, &follower_}) Kill(*p);
    if (HasFailure() || std::getenv("TPS_TEST_SHOW_LOGS") != nullptr) {
      std::fprintf(stderr, "%s", Logs().c_str());
    }
  }

  Process MakeProcess(int rank) {
    Process p;
    p.port_file = absl::StrCat(dir_, "/rank", rank, ".ports");
    p.log = absl::StrCat(dir_, "/rank", rank, ".log");
    p.args = {TPS_WORKER_BIN,
              "--coordinator",
              coordinator_->address(),
              "--model",
              manifest_.model_dir,
              "--model-name",
              "tiny",
              "--group",
              "g0",
              "--rank",
              std::to_string(rank),
              "--world-size",
              "2",
              "--max-slots",
              "4",
              "--max-context",
              "256",
              "--max-tokens-per-step",
              "64",
              "--port-file",
              p.port_file,
              "--drain-timeout-ms",
              "10000"};
    return p;
  }

  static void Launch(Process& p) {
    std::remove(p.port_file.c_str());
    absl::StatusOr<Subprocess> sp =
        Subprocess::Exec(p.args, {.out = Redirect::File(p.log), .err = Redirect::File(p.log)});
    ASSERT_OK(sp.status());
    p.process = std::move(*sp);
  }

  static void Kill(Process& p) { p.process.reset(); }  // SIGKILL and reap

  // Waits for the process to exit; its wait status, or -1 after `timeout`.
  static int AwaitExit(Process& p, absl::Duration timeout) {
    return p.process->WaitFor(timeout).value_or(-1);
  }

  int PortOf(const Process& p, const std::string& which) {
    const absl::Time until = absl::Now() + kStartup;
    while (absl::Now() < until) {
      const nlohmann::json j = nlohmann::json::parse(ReadAll(p.port_file), nullptr, false);
      if (!j.is_discarded() && j.contains(which)) return j.at(which).get<int>();
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }

  std::string Logs() const {
    return absl::StrCat("--- leader log ---\n", ReadAll(leader_.log), "--- follower log ---\n",
                        ReadAll(follower_.log));
  }

  // The record of the worker with `rank` (the latest registered, after restarts).
  static const WorkerRecord* Rank(const std::map<std::string, WorkerRecord>& w, int rank) {
    const WorkerRecord* found = nullptr;
    for (const auto& [id, rec] : w) {
      if (rec.registration.assignment().rank() == rank && rec.heartbeats > 0) found = &rec;
    }
    return found;
  }

  bool AwaitLeaderState(cluster::v1::WorkerState state, absl::Duration timeout) {
    return coordinator_->WaitFor(
        [state](const auto& w) {
          const WorkerRecord* r = Rank(w, 0);
          return r != nullptr && r->last_heartbeat.state() == state;
        },
        timeout);
  }

  StreamResult Generate(const GenerateRequest& request, grpc::ClientContext* context = nullptr,
                        int cancel_after_tokens = -1) {
    grpc::ClientContext local;
    grpc::ClientContext* ctx = context != nullptr ? context : &local;
    StreamResult r;
    auto reader = stub_->Generate(ctx, request);
    GenerateResponse response;
    while (reader->Read(&response)) {
      r.tokens.insert(r.tokens.end(), response.token_ids().begin(), response.token_ids().end());
      r.done_messages += response.done();
      r.responses.push_back(response);
      if (cancel_after_tokens >= 0 && static_cast<int>(r.tokens.size()) >= cancel_after_tokens) {
        ctx->TryCancel();
      }
    }
    r.status = reader->Finish();
    r.ended = absl::Now();
    return r;
  }

  static GenerateRequest Request(const std::vector<int32_t>& prompt, int32_t max_tokens) {
    GenerateRequest r;
    r.set_request_id("test");
    for (int32_t t : prompt) r.add_prompt_ids(t);
    r.set_max_tokens(max_tokens);
    return r;
  }

  const tpserve::testing::GoldenCase& Case(const std::string& name) const {
    for (const auto& c : manifest_.cases) {
      if (c.name == name) return c;
    }
    std::abort();
  }

  std::string Metrics(const Process& p) { return HttpGet(PortOf(p, "metrics"), "/metrics"); }

  // Waits until both ranks report no sequence state held.
  bool AwaitSlotsFree() {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (absl::Now() < until) {
      const double leader = MetricValue(Metrics(leader_), "tpserve_recurrent_state_slots_in_use");
      const double follower =
          MetricValue(Metrics(follower_), "tpserve_recurrent_state_slots_in_use");
      const double blocks = MetricValue(Metrics(follower_), "tpserve_kv_cache_blocks_in_use");
      if (leader == 0 && follower == 0 && blocks == 0) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  tpserve::testing::GoldenManifest manifest_;
  std::string dir_;
  std::unique_ptr<FakeCoordinator> coordinator_;
  Process leader_, follower_;
  int grpc_port_ = 0;
  std::unique_ptr<cluster::v1::Leader::Stub> stub_;
};

TEST_F(WorkerProcessTest, GreedyStreamsEqualTpserveGenerate) {
  for (const auto& c : manifest_.cases) {
    const StreamResult r =
        Generate(Request(c.prompt, static_cast<int32_t>(c.greedy_tokens.size())));
    ASSERT_TRUE(r.status.ok()) << c.name << ": " << r.status.error_message();
    EXPECT_EQ(r.tokens, c.greedy_tokens) << c.name;
    EXPECT_EQ(r.done_messages, 1);
    EXPECT_EQ(r.responses.back().finish(), GenerateResponse::FINISH_LENGTH);
    EXPECT_EQ(r.responses.back().prompt_tokens(), static_cast<int32_t>(c.prompt.size()));
  }
  // And `tpserve generate` on the same prompt says the same.
  const auto& c = Case("p37");
  const std::string cmd = absl::StrCat(TPS_TPSERVE_BIN, " generate --model ", manifest_.model_dir,
                                       " --prompt-ids ", absl::StrJoin(c.prompt, ","),
                                       " --max-tokens 32 --ignore-eos --json 2>/dev/null");
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ASSERT_EQ(pclose(p), 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  const StreamResult r = Generate(Request(c.prompt, 32));
  EXPECT_EQ(r.tokens, j.at("tokens").get<std::vector<int32_t>>());
}

TEST_F(WorkerProcessTest, SixteenConcurrentStreamsAllFinishExactlyOnce) {
  constexpr int kStreams = 16;
  std::vector<StreamResult> results(kStreams);
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] {
      const auto& c = manifest_.cases[static_cast<size_t>(i) % manifest_.cases.size()];
      results[static_cast<size_t>(i)] = Generate(Request(c.prompt, 32));
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kStreams; ++i) {
    const auto& c = manifest_.cases[static_cast<size_t>(i) % manifest_.cases.size()];
    const StreamResult& r = results[static_cast<size_t>(i)];
    ASSERT_TRUE(r.status.ok()) << i << ": " << r.status.error_message();
    EXPECT_EQ(r.done_messages, 1) << i;
    EXPECT_EQ(r.tokens, c.greedy_tokens) << i << " " << c.name;
  }
  ASSERT_TRUE(AwaitSlotsFree());
  // Every rank exposes its metrics; the values moved with the traffic.
  const std::string leader = Metrics(leader_), follower = Metrics(follower_);
  EXPECT_EQ(MetricValue(leader, "tpserve_worker_generated_tokens_total"), kStreams * 32);
  EXPECT_GT(MetricValue(leader, "tpserve_worker_steps_total"), 32);
  EXPECT_GT(MetricValue(follower, "tpserve_worker_steps_total"), 32);
  EXPECT_GT(MetricValue(follower, "tpserve_worker_collective_seconds_total"), 0);
  EXPECT_EQ(MetricValue(leader, "tpserve_recurrent_state_slots_capacity"), 4);
  EXPECT_GT(MetricValue(follower, "tpserve_kv_cache_blocks_capacity"), 0);
  EXPECT_THAT(leader, HasSubstr("tpserve_worker_step_seconds_bucket{phase=\"decode\""));
  EXPECT_THAT(leader, HasSubstr("tpserve_worker_state{state=\"ready\"} 1"));
  EXPECT_EQ(MetricValue(leader, "tpserve_sequences_running"), 0);
  // The leader's heartbeat load is back to zero too.
  ASSERT_TRUE(coordinator_->WaitFor(
      [](const auto& w) {
        const WorkerRecord* r = Rank(w, 0);
        return r != nullptr && r->last_heartbeat.load().running_sequences() == 0 &&
               r->last_heartbeat.load().kv_blocks_used() == 0 &&
               r->last_heartbeat.load().max_sequences() == 4 &&
               r->last_heartbeat.load().vocab_size() == 256;
      },
      absl::Seconds(5)));
}

TEST_F(WorkerProcessTest, CancellationAndDeadlinesFreeTheSlotsOnEveryRank) {
  const auto& c = Case("p7");
  grpc::ClientContext cancelled;
  const StreamResult a = Generate(Request(c.prompt, 240), &cancelled, /*cancel_after_tokens=*/3);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::CANCELLED);
  // A deadline that passes mid-stream. The tiny model can finish 240 tokens in under 30 ms on a
  // quiet machine, so shorter deadlines are tried until one expires first.
  grpc::StatusCode expired = grpc::StatusCode::OK;
  for (int ms : {30, 10, 3, 1}) {
    grpc::ClientContext deadline;
    deadline.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
    const StreamResult b = Generate(Request(c.prompt, 240), &deadline);
    expired = b.status.error_code();
    if (expired != grpc::StatusCode::OK) break;
    EXPECT_EQ(b.tokens.size(), 240u) << "a stream that ended OK must be complete";
  }
  EXPECT_EQ(expired, grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(AwaitSlotsFree()) << Metrics(leader_) << Metrics(follower_);
  // The replica serves on, with the right tokens.
  const StreamResult r = Generate(Request(c.prompt, 32));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.tokens, c.greedy_tokens);
}

TEST_F(WorkerProcessTest, WorkersRegisterAgainWhenTheCoordinatorForgetsThem) {
  const auto before = coordinator_->workers();
  ASSERT_EQ(before.size(), 2u);
  coordinator_->ForgetWorkers();  // as after a coordinator restart
  ASSERT_TRUE(coordinator_->WaitFor(
      [](const auto& w) { return w.size() == 2 && Rank(w, 0) != nullptr && Rank(w, 1) != nullptr; },
      absl::Seconds(5)));
  for (const auto& [id, rec] : coordinator_->workers()) {
    ASSERT_TRUE(before.count(id)) << "worker id changed: " << id;
    EXPECT_EQ(rec.registration.assignment().group(), "g0");
    EXPECT_EQ(rec.registration.address(), before.at(id).registration.address());
  }
  EXPECT_TRUE(AwaitLeaderState(cluster::v1::WORKER_STATE_READY, absl::Seconds(5)));
  const auto& c = Case("p1");
  const StreamResult r = Generate(Request(c.prompt, 32));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.tokens, c.greedy_tokens);
}

TEST_F(WorkerProcessTest, AKilledFollowerEndsStreamsUnavailableAndTheGroupReformsWhenItReturns) {
  const auto& c = Case("p7");
  std::vector<StreamResult> results(3);
  std::vector<std::thread> clients;
  absl::Notification first_token;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      grpc::ClientContext ctx;
      StreamResult& r = results[static_cast<size_t>(i)];
      auto reader = stub_->Generate(&ctx, Request(c.prompt, 248));
      GenerateResponse response;
      while (reader->Read(&response)) {
        r.tokens.insert(r.tokens.end(), response.token_ids().begin(), response.token_ids().end());
        if (i == 0 && !first_token.HasBeenNotified()) first_token.Notify();
      }
      r.status = reader->Finish();
      r.ended = absl::Now();
    });
  }
  ASSERT_TRUE(first_token.WaitForNotificationWithTimeout(absl::Seconds(10)));
  follower_.process->Signal(SIGKILL);
  const absl::Time killed = absl::Now();
  Kill(follower_);
  for (auto& t : clients) t.join();
  for (const StreamResult& r : results) {
    if (r.status.ok()) {
      EXPECT_EQ(r.tokens.size(), 248u);  // finished before the kill landed
      continue;
    }
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE) << r.status.error_message();
    EXPECT_LT(r.ended - killed, absl::Seconds(3));
  }
  EXPECT_FALSE(results[0].status.ok()) << "the stream that saw a token before the kill finished";
  ASSERT_TRUE(AwaitLeaderState(cluster::v1::WORKER_STATE_FAILED, absl::Seconds(3)));
  EXPECT_THAT(Rank(coordinator_->workers(), 0)->last_heartbeat.detail(), HasSubstr("re-forming"));
  // While broken, new streams are refused UNAVAILABLE at once (not queued, not hung).
  const StreamResult refused = Generate(Request(c.prompt, 4));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE);

  // The follower comes back (as its supervisor would restart it): the group re-forms.
  Launch(follower_);
  ASSERT_TRUE(AwaitLeaderState(cluster::v1::WORKER_STATE_READY, kStartup)) << Logs();
  const StreamResult r = Generate(Request(c.prompt, 32));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.tokens, c.greedy_tokens);
  EXPECT_EQ(MetricValue(Metrics(leader_), "tpserve_worker_group_formations_total"), 2);
}

TEST_F(WorkerProcessTest, ARestartedLeaderGetsItsFollowerBack) {
  Kill(leader_);
  coordinator_->ForgetWorkers();  // drop the dead leader's record; the follower re-registers
  Launch(leader_);
  ASSERT_TRUE(AwaitLeaderState(cluster::v1::WORKER_STATE_READY, kStartup)) << Logs();
  grpc_port_ = PortOf(leader_, "grpc");
  stub_ = cluster::v1::Leader::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                                           grpc::InsecureChannelCredentials()));
  const auto& c = Case("p37");
  const StreamResult r = Generate(Request(c.prompt, 32));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.tokens, c.greedy_tokens);
}

TEST_F(WorkerProcessTest, SigtermDrainsInFlightStreamsAndExits) {
  const auto& c = Case("p7");
  StreamResult result;
  absl::Notification first_token;
  std::thread client([&] {
    grpc::ClientContext ctx;
    auto reader = stub_->Generate(&ctx, Request(c.prompt, 200));
    GenerateResponse response;
    while (reader->Read(&response)) {
      result.tokens.insert(result.tokens.end(), response.token_ids().begin(),
                           response.token_ids().end());
      result.done_messages += response.done();
      if (!first_token.HasBeenNotified()) first_token.Notify();
    }
    result.status = reader->Finish();
  });
  ASSERT_TRUE(first_token.WaitForNotificationWithTimeout(absl::Seconds(10)));
  leader_.process->Signal(SIGTERM);
  // Out of routing at once: the leader reports DRAINING (not READY) while its stream runs on.
  const absl::Time until = absl::Now() + absl::Seconds(5);
  bool draining_seen = false;
  while (!draining_seen && absl::Now() < until) {
    const std::map<std::string, WorkerRecord> workers = coordinator_->workers();
    const WorkerRecord* w = Rank(workers, 0);
    draining_seen = w != nullptr && !w->states.empty() &&
                    w->states.back() == cluster::v1::WORKER_STATE_DRAINING;
    if (!draining_seen) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(draining_seen);
  client.join();
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.tokens.size(), 200u);
  EXPECT_EQ(result.done_messages, 1);
  const int status = AwaitExit(leader_, absl::Seconds(10));
  ASSERT_NE(status, -1) << "the leader did not exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Logs();
  EXPECT_EQ(Rank(coordinator_->workers(), 0)->last_heartbeat.detail(), "shutting down");
  EXPECT_THAT(ReadAll(leader_.log), HasSubstr("rank 0/2 of tiny/g0 serving on 127.0.0.1:"));
}

// A worker started without an assignment takes the coordinator's placement (a single-device
// replica: world size 1, no followers) and serves it.
TEST(PlacedWorkerTest, AnUnassignedWorkerServesWhereTheCoordinatorPlacesIt) {
  ASSERT_OK_AND_ASSIGN(tpserve::testing::GoldenManifest m,
                       tpserve::testing::LoadGoldenManifest(kModel));
  testing::FakeCoordinatorOptions fo;
  fo.heartbeat_interval_ms = 100;
  fo.placement.set_model("placed-tiny");
  fo.placement.set_model_dir(m.model_dir);
  fo.placement.set_group("solo");
  fo.placement.set_rank(0);
  fo.placement.set_world_size(1);
  auto coordinator = FakeCoordinator::Start(fo);
  ASSERT_NE(coordinator, nullptr);
  const std::string dir = tpserve::testing::MakeTempDir();
  const std::string ports = dir + "/ports", log = dir + "/log";
  ASSERT_OK_AND_ASSIGN(Subprocess worker,
                       Subprocess::Exec({TPS_WORKER_BIN, "--coordinator", coordinator->address(),
                                         "--port-file", ports},
                                        {.out = Redirect::File(log), .err = Redirect::File(log)}));
  const bool ready = coordinator->WaitFor(
      [](const auto& w) {
        return w.size() == 1 &&
               w.begin()->second.last_heartbeat.state() == cluster::v1::WORKER_STATE_READY;
      },
      kStartup);
  int grpc_port = -1;
  const nlohmann::json j = nlohmann::json::parse(ReadAll(ports), nullptr, false);
  if (!j.is_discarded()) grpc_port = j.value("grpc", -1);
  std::vector<int32_t> tokens;
  grpc::Status status;
  if (ready && grpc_port > 0) {
    auto stub = cluster::v1::Leader::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    GenerateRequest req;
    for (int32_t t : m.cases[1].prompt) req.add_prompt_ids(t);
    req.set_max_tokens(32);
    auto reader = stub->Generate(&ctx, req);
    GenerateResponse response;
    while (reader->Read(&response))
      tokens.insert(tokens.end(), response.token_ids().begin(), response.token_ids().end());
    status = reader->Finish();
  }
  worker.Kill();
  ASSERT_TRUE(ready) << ReadAll(log);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(tokens, m.cases[1].greedy_tokens);
  const WorkerRecord rec = coordinator->workers().begin()->second;
  EXPECT_TRUE(rec.registration.assignment().model().empty());  // it asked to be placed
  EXPECT_EQ(rec.last_heartbeat.load().max_sequences(), 8);     // the default --max-slots
  EXPECT_THAT(ReadAll(log), HasSubstr("rank 0/1 of placed-tiny/solo serving on"));
}

}  // namespace
}  // namespace tpserve::worker
