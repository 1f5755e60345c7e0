// Overload degrades gracefully: with far more concurrent requests than slots, every request ends
// exactly once and within its bounds (its deadline, or --max-queue-wait-ms); what cannot be served
// in time is refused or shed with RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED saying why, never left
// open without a token. Real coordinator and worker processes.
#include <chrono>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/service/cluster_fixture.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::testing {
namespace {

v1::ChatRequest Request(int i, int max_tokens) {
  v1::ChatRequest r;
  r.set_model("tiny");
  v1::Message* m = r.add_messages();
  m->set_role("user");
  m->add_content()->set_text(absl::StrCat("tell me story number ", i));
  r.set_max_tokens(max_tokens);
  r.mutable_sampling()->set_temperature(0.0f);
  r.set_enable_thinking(false);
  return r;
}

struct Outcome {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  int tokens = 0;
  int dones = 0;
  double seconds = 0;  // from the call's start to its end
  bool has_deadline = false;
};

TEST(OverloadTest, EveryRequestEndsOnceWithinItsBoundAndTheRestIsShedSayingWhy) {
  constexpr int kQueueWaitMs = 3000;
  ASSERT_OK_AND_ASSIGN(
      auto cluster, Cluster::Start({.tp = 1,
                                    .replicas = 1,
                                    .max_slots = 2,
                                    .coordinator_args = {"--max-queue", "16", "--max-queue-wait-ms",
                                                         std::to_string(kQueueWaitMs)}}));
  ASSERT_OK(cluster->WaitReady(1));
  auto channel = grpc::CreateChannel(cluster->client_address(), grpc::InsecureChannelCredentials());
  auto stub = v1::ChatService::NewStub(channel);

  // One stream alone, for the time a stream takes here.
  constexpr int kTokens = 200;
  const absl::Time t0 = absl::Now();
  {
    grpc::ClientContext ctx;
    auto reader = stub->Chat(&ctx, Request(0, kTokens));
    v1::ChatResponse resp;
    while (reader->Read(&resp)) {
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  const double alone = absl::ToDoubleSeconds(absl::Now() - t0);

  constexpr int kRequests = 60;
  std::vector<Outcome> out(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      Outcome& o = out[static_cast<size_t>(i)];
      grpc::ClientContext ctx;
      // Half carry a 4 s deadline; the others rely on the coordinator's queue-wait limit.
      o.has_deadline = i % 2 == 0;
      const auto start = std::chrono::system_clock::now();
      if (o.has_deadline) ctx.set_deadline(start + std::chrono::seconds(4));
      auto reader = stub->Chat(&ctx, Request(i + 1, kTokens));
      v1::ChatResponse resp;
      while (reader->Read(&resp)) {
        if (resp.has_delta()) o.tokens += resp.delta().token_ids_size();
        if (resp.has_done()) ++o.dones;
      }
      const grpc::Status s = reader->Finish();
      o.code = s.error_code();
      o.message = s.error_message();
      o.seconds = std::chrono::duration<double>(std::chrono::system_clock::now() - start).count();
    });
  }
  for (auto& t : threads) t.join();

  std::map<std::string, int> counts;
  int served = 0, refused_or_shed = 0;
  for (int i = 0; i < kRequests; ++i) {
    const Outcome& o = out[static_cast<size_t>(i)];
    ++counts[absl::StrCat(o.has_deadline ? "deadline " : "no-deadline ",
                          o.code == grpc::StatusCode::OK ? "OK" : std::to_string(o.code))];
    switch (o.code) {
      case grpc::StatusCode::OK:
        ++served;
        EXPECT_EQ(o.dones, 1) << "request " << i;
        EXPECT_EQ(o.tokens, kTokens) << "request " << i;
        break;
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        ++refused_or_shed;
        EXPECT_EQ(o.tokens, 0) << "request " << i << " was shed after tokens: " << o.message;
        EXPECT_THAT(o.message, ::testing::AnyOf(::testing::HasSubstr("--max-queue"),
                                                ::testing::HasSubstr("expected wait")))
            << "request " << i;
        break;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        ++refused_or_shed;
        EXPECT_TRUE(o.has_deadline) << "request " << i << ": " << o.message;
        break;
      default:
        ADD_FAILURE() << "request " << i << ": unexpected " << o.code << " " << o.message;
    }
    // Nobody waits without bound: a queued request leaves by its deadline or the queue-wait
    // limit; one that got a slot takes a stream's time at the most two-to-a-batch pace.
    const double bound = (o.has_deadline ? 4.0 : kQueueWaitMs / 1000.0) + 4 * alone + 1.0;
    EXPECT_LE(o.seconds, bound) << "request " << i << " (" << o.code << "): " << o.message;
  }
  std::vector<std::string> parts;
  for (const auto& [k, v] : counts) parts.push_back(absl::StrCat(k, ": ", v));
  std::cout << "overload outcome of " << kRequests << " requests (one stream alone " << alone
            << " s): " << absl::StrJoin(parts, ", ") << "\n";
  EXPECT_GT(served, 0);
  EXPECT_GT(refused_or_shed, 0);
  // Everything is given back, and the replica serves the next request.
  // (Streams cut by their deadline mid-generation are freed as the leader sees the cancel.)
  absl::StatusOr<double> running = -1.0;
  for (const absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;) {
    absl::StatusOr<std::string> m = ScrapeMetrics(cluster->worker_metrics(0, 0));
    if (m.ok()) running = MetricValue(*m, "tpserve_sequences_running");
    if (running.ok() && *running == 0.0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(running, IsOkAndHolds(0.0));
  grpc::ClientContext ctx;
  auto reader = stub->Chat(&ctx, Request(999, 4));
  v1::ChatResponse resp;
  while (reader->Read(&resp)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
}

}  // namespace
}  // namespace tpserve::testing
