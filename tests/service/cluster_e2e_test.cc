// The cluster service end to end with real parts: a tpserve-coordinator process, tpserve-worker
// processes forming tensor-parallel groups, gRPC over loopback, Prometheus scrapes.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/service/cluster_fixture.h"
#include "tests/testing/corrupt_images.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::testing {
namespace {

using ::testing::HasSubstr;
using ::tpserve::testing::IsOkAndHolds;

v1::ChatRequest Request(const std::string& text, int max_tokens) {
  v1::ChatRequest r;
  r.set_model("tiny");
  v1::Message* m = r.add_messages();
  m->set_role("user");
  m->add_content()->set_text(text);
  r.set_max_tokens(max_tokens);
  r.mutable_sampling()->set_temperature(0.0f);
  r.set_enable_thinking(false);
  return r;
}

struct ChatResult {
  absl::Status status;
  std::vector<int32_t> tokens;
  v1::Done done;
  int deltas = 0;
};

ChatResult RunChat(cli::ChatClient& client, const v1::ChatRequest& request) {
  ChatResult out;
  absl::StatusOr<v1::Done> done = client.Chat(request, [&](const v1::Delta& d) {
    ++out.deltas;
    out.tokens.insert(out.tokens.end(), d.token_ids().begin(), d.token_ids().end());
  });
  out.status = done.status();
  if (done.ok()) out.done = *done;
  return out;
}

// Polls a metric until it equals `want` (slots coming back after cancellations).
bool EventuallyEquals(const std::string& address, const std::string& name, double want,
                      absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> text = ScrapeMetrics(address);
    if (text.ok()) {
      absl::StatusOr<double> v = MetricValue(*text, name);
      if (v.ok() && *v == want) return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

TEST(ClusterE2eTest, GreedyChatStreamsTheTokensOfTpserveGenerate) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));
  auto client = cluster->Client();
  const std::string prompt = "Name three planets.";
  ChatResult r = RunChat(*client, Request(prompt, 24));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.done.finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(r.done.usage().completion_tokens(), 24);
  ASSERT_EQ(r.tokens.size(), 24u);
  // The same turn through `tpserve generate --chat` (the same template code, one process).
  ASSERT_OK_AND_ASSIGN(std::string out, RunTpserve(absl::StrCat(
                                            "generate --model ", TinyModelDir(), " --prompt '",
                                            prompt, "' --chat --no-think --max-tokens 24 --json")));
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), r.tokens);
  EXPECT_EQ(j.at("prompt_tokens").get<int>(), r.done.usage().prompt_tokens());
}

// Images stay on the workers: the chat carries PNG/JPEG bytes, the coordinator expands the
// placeholder from the header, each rank of a TP=2 group runs its share of the tower; the tokens
// equal `tpserve generate --image` in one process.
TEST(ClusterE2eTest, AnImageThroughATp2ClusterGivesTheTokensOfGenerate) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));
  for (const char* name : {"one_px.png", "photo_500x300.jpg", "tall_37x311_rgba.png"}) {
    const std::string file = SourceDir() + "/tests/golden/tiny_vision/images/" + name;
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << file;
    std::stringstream ss;
    ss << in.rdbuf();
    v1::ChatRequest r = Request("What is in this picture?", 16);
    v1::Message* user = r.mutable_messages(0);
    // The image first, then the text (what `generate --chat --image` builds).
    v1::ContentPart text = user->content(0);
    user->clear_content();
    user->add_content()->mutable_image()->set_data(ss.str());
    *user->add_content() = text;
    ChatResult res = RunChat(*cluster->Client(), r);
    ASSERT_OK(res.status);
    ASSERT_OK_AND_ASSIGN(
        std::string out,
        RunTpserve(absl::StrCat("generate --model ", TinyModelDir(),
                                " --prompt 'What is in this picture?' --chat --no-think",
                                " --image ", file, " --max-tokens 16 --json")));
    const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), res.tokens) << name;
    EXPECT_EQ(j.at("prompt_tokens").get<int>(), res.done.usage().prompt_tokens()) << name;
    // `tpserve chat --image` (the CLI client) prints the same reply.
    ASSERT_OK_AND_ASSIGN(
        std::string printed,
        RunTpserve(absl::StrCat("chat --addr ", cluster->client_address(),
                                " --model tiny --prompt 'What is in this picture?' --no-think",
                                " --image ", file, " --max-tokens 16 --temperature 0")));
    EXPECT_EQ(printed, j.at("content").get<std::string>() + "\n") << name;
  }
  // A remote URL is refused, never fetched; a corrupt image is INVALID_ARGUMENT; serving goes on.
  v1::ChatRequest url = Request("look", 4);
  url.mutable_messages(0)->add_content()->mutable_image()->set_uri("https://example.com/cat.png");
  EXPECT_THAT(RunChat(*cluster->Client(), url).status,
              StatusIs(absl::StatusCode::kInvalidArgument));
  v1::ChatRequest corrupt = Request("look", 4);
  corrupt.mutable_messages(0)->add_content()->mutable_image()->set_data(
      "\x89PNG\r\n\x1a\nnot really");
  EXPECT_THAT(RunChat(*cluster->Client(), corrupt).status,
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(RunChat(*cluster->Client(), Request("still serving", 4)).status);
  // Tensor parallel: both ranks ran their shard of the tower on all six images (three chats
  // through the API, three through `tpserve chat`).
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_OK_AND_ASSIGN(std::string text, ScrapeMetrics(cluster->worker_metrics(0, rank)));
    EXPECT_THAT(MetricValue(text, "tpserve_vision_tower_info", {"parallelism=\"tensor\""}),
                IsOkAndHolds(1.0))
        << "rank " << rank;
    EXPECT_THAT(MetricValue(text, "tpserve_vision_images_encoded_total"), IsOkAndHolds(6.0))
        << "rank " << rank;
  }
}

// Images whose header reads fine but whose body does not decode (truncated in IDAT, an IHDR CRC
// error, corrupt zlib data, a cut JPEG scan) fail their own request with INVALID_ARGUMENT while
// streams on the same TP=2 replica run: every one of those finishes with all its tokens, and the
// group never re-forms. (Before the fix, the decode failed inside a step and took the replica
// down: "tensor-parallel group of 2 failed: ... corrupt PNG: IHDR: CRC error".)
TEST(ClusterE2eTest, ACorruptImageBodyFailsItsRequestAloneWhileStreamsOnTheReplicaFinish) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));
  const std::string png = ReadSourceFile("tests/golden/tiny_vision/images/tall_37x311_rgba.png");
  const std::string jpeg = ReadSourceFile("tests/golden/tiny_vision/images/photo_500x300.jpg");
  ASSERT_FALSE(png.empty());
  ASSERT_FALSE(jpeg.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<CorruptImage> bad, CorruptPngs(png));
  bad.push_back({"truncated JPEG scan", TruncatedJpeg(jpeg)});

  constexpr int kStreams = 3;
  constexpr int kTokens = 48;
  std::vector<ChatResult> innocent(kStreams);
  std::atomic<int> started{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      auto client = cluster->Client();
      v1::ChatRequest r = Request(absl::StrCat("innocent ", i), kTokens);
      ChatResult& out = innocent[static_cast<size_t>(i)];
      absl::StatusOr<v1::Done> done = client->Chat(r, [&](const v1::Delta& d) {
        if (out.deltas++ == 0) ++started;
        out.tokens.insert(out.tokens.end(), d.token_ids().begin(), d.token_ids().end());
      });
      out.status = done.status();
      if (done.ok()) out.done = *done;
    });
  }
  // The bad images arrive while all innocent streams are mid-generation.
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (started.load() < kStreams && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(started.load(), kStreams);
  for (const CorruptImage& image : bad) {
    v1::ChatRequest r = Request("What is in this picture?", 4);
    r.mutable_messages(0)->add_content()->mutable_image()->set_data(image.bytes);
    ChatResult res = RunChat(*cluster->Client(), r);
    EXPECT_THAT(res.status, StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("messages[0].content[1].image")))
        << image.name;
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kStreams; ++i) {
    const ChatResult& r = innocent[static_cast<size_t>(i)];
    ASSERT_TRUE(r.status.ok()) << "innocent stream " << i << ": " << r.status;
    EXPECT_EQ(r.tokens.size(), static_cast<size_t>(kTokens)) << "innocent stream " << i;
  }
  // The group never re-formed, no bad image reached the tower, and it still serves.
  EXPECT_OK(RunChat(*cluster->Client(), Request("still serving", 4)).status);
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_OK_AND_ASSIGN(std::string m, ScrapeMetrics(cluster->worker_metrics(0, rank)));
    EXPECT_THAT(MetricValue(m, "tpserve_worker_group_formations_total"), IsOkAndHolds(1.0))
        << "rank " << rank;
    EXPECT_THAT(MetricValue(m, "tpserve_vision_images_encoded_total"), IsOkAndHolds(0.0))
        << "rank " << rank;
  }
}

// The data-parallel switch: each rank of a TP=2 group holds the whole tower and runs its share of
// the images; the embeddings are gathered and the tokens are still those of one process. The
// ranks' metrics show the mode and that the two images were split one per rank.
TEST(ClusterE2eTest, ADataParallelVisionTowerSpreadsImagesAcrossRanksAndGivesTheSameTokens) {
  ASSERT_OK_AND_ASSIGN(
      auto cluster,
      Cluster::Start({.tp = 2, .replicas = 1, .worker_args = {"--vision-parallelism", "data"}}));
  ASSERT_OK(cluster->WaitReady(1));
  const std::vector<std::string> files = {
      SourceDir() + "/tests/golden/tiny_vision/images/photo_500x300.jpg",
      SourceDir() + "/tests/golden/tiny_vision/images/tall_37x311_rgba.png"};
  v1::ChatRequest r = Request("Compare the two pictures.", 12);
  v1::Message* user = r.mutable_messages(0);
  v1::ContentPart text = user->content(0);
  user->clear_content();
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << file;
    std::stringstream ss;
    ss << in.rdbuf();
    user->add_content()->mutable_image()->set_data(ss.str());
  }
  *user->add_content() = text;
  ChatResult res = RunChat(*cluster->Client(), r);
  ASSERT_OK(res.status);
  ASSERT_OK_AND_ASSIGN(
      std::string out,
      RunTpserve(absl::StrCat("generate --model ", TinyModelDir(),
                              " --prompt 'Compare the two pictures.' --chat --no-think --image ",
                              files[0], " --image ", files[1], " --max-tokens 12 --json")));
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j.at("tokens").get<std::vector<int32_t>>(), res.tokens);
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_OK_AND_ASSIGN(std::string exposition, ScrapeMetrics(cluster->worker_metrics(0, rank)));
    EXPECT_THAT(MetricValue(exposition, "tpserve_vision_tower_info", {"parallelism=\"data\""}),
                IsOkAndHolds(1.0))
        << "rank " << rank;
    EXPECT_THAT(MetricValue(exposition, "tpserve_vision_tower_info", {"parallelism=\"tensor\""}),
                IsOkAndHolds(0.0))
        << "rank " << rank;
    EXPECT_THAT(MetricValue(exposition, "tpserve_vision_images_encoded_total"), IsOkAndHolds(1.0))
        << "rank " << rank;
  }
}

TEST(ClusterE2eTest, ConcurrentStreamsOnTwoReplicasAllFinishExactlyOnce) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 1, .replicas = 2, .max_slots = 8}));
  ASSERT_OK(cluster->WaitReady(2));
  constexpr int kStreams = 32;
  std::vector<ChatResult> results(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      auto client = cluster->Client();
      results[static_cast<size_t>(i)] = RunChat(*client, Request(absl::StrCat("request ", i), 12));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kStreams; ++i) {
    const ChatResult& r = results[static_cast<size_t>(i)];
    ASSERT_TRUE(r.status.ok()) << "stream " << i << ": " << r.status;
    EXPECT_EQ(r.done.usage().completion_tokens(), 12) << "stream " << i;
    EXPECT_EQ(r.tokens.size(), 12u) << "stream " << i;
  }
  // Both replicas served: each leader generated tokens.
  for (int replica : {0, 1}) {
    ASSERT_OK_AND_ASSIGN(std::string m, ScrapeMetrics(cluster->worker_metrics(replica, 0)));
    ASSERT_OK_AND_ASSIGN(double generated, MetricValue(m, "tpserve_worker_generated_tokens_total"));
    EXPECT_GT(generated, 0) << "replica " << replica;
  }
  // The coordinator counted every request once.
  ASSERT_OK_AND_ASSIGN(std::string cm, ScrapeMetrics(cluster->coordinator_metrics()));
  double total = 0;
  for (absl::string_view line : absl::StrSplit(cm, '\n')) {
    if (absl::StartsWith(line, "tpserve_requests_total{")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) total += v;
    }
  }
  EXPECT_EQ(total, kStreams);
}

TEST(ClusterE2eTest, CancellationAndDeadlinesFreeEverySlot) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));
  auto client = cluster->Client();
  // A long stream cancelled by the client after its first delta.
  std::atomic<bool> cancelled{false};
  absl::StatusOr<v1::Done> done =
      client->Chat(Request("tell me a long story", 900), [&](const v1::Delta&) {
        if (!cancelled.exchange(true)) client->Cancel();
      });
  EXPECT_THAT(done.status(), StatusIs(absl::StatusCode::kCancelled));
  // Streams that run into their deadline (shorter deadlines are tried when a fast machine
  // finishes the 900 tokens first).
  auto channel = grpc::CreateChannel(cluster->client_address(), grpc::InsecureChannelCredentials());
  auto stub = v1::ChatService::NewStub(channel);
  for (int i = 0; i < 3; ++i) {
    grpc::StatusCode expired = grpc::StatusCode::OK;
    for (int ms : {150, 50, 15, 5}) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
      auto reader = stub->Chat(&ctx, Request("another long story", 900));
      v1::ChatResponse resp;
      while (reader->Read(&resp)) {
      }
      expired = reader->Finish().error_code();
      if (expired != grpc::StatusCode::OK) break;
    }
    EXPECT_EQ(expired, grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // Every rank gives its slots back.
  for (int rank : {0, 1}) {
    EXPECT_TRUE(EventuallyEquals(cluster->worker_metrics(0, rank),
                                 "tpserve_recurrent_state_slots_in_use", 0))
        << "rank " << rank;
    EXPECT_TRUE(
        EventuallyEquals(cluster->worker_metrics(0, rank), "tpserve_kv_cache_blocks_in_use", 0))
        << "rank " << rank;
  }
  EXPECT_TRUE(EventuallyEquals(cluster->worker_metrics(0, 0), "tpserve_sequences_running", 0));
  // And the replica still serves.
  ASSERT_OK(RunChat(*client, Request("hello", 4)).status);
}

TEST(ClusterE2eTest, KilledFollowerEndsItsStreamsUnavailableAndOtherReplicasKeepServing) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 2, .max_slots = 8}));
  ASSERT_OK(cluster->WaitReady(2));
  // Long streams on both replicas (least-loaded routing spreads them).
  constexpr int kStreams = 6;
  std::vector<ChatResult> results(kStreams);
  std::vector<std::thread> threads;
  std::atomic<int> started{0};
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&, i] {
      auto client = cluster->Client();
      ChatResult& r = results[static_cast<size_t>(i)];
      absl::StatusOr<v1::Done> done =
          client->Chat(Request(absl::StrCat("long ", i), 1000), [&](const v1::Delta& d) {
            if (r.deltas++ == 0) started.fetch_add(1);
            r.tokens.insert(r.tokens.end(), d.token_ids().begin(), d.token_ids().end());
          });
      r.status = done.status();
    });
  }
  const absl::Time wait_until = absl::Now() + absl::Seconds(20);
  while (started.load() < kStreams && absl::Now() < wait_until)
    absl::SleepFor(absl::Milliseconds(10));
  ASSERT_EQ(started.load(), kStreams);
  const absl::Time killed = absl::Now();
  cluster->KillWorker(0, 1);  // replica g0 loses its follower
  for (auto& t : threads) t.join();
  const absl::Duration took = absl::Now() - killed;
  int unavailable = 0, finished = 0;
  for (const ChatResult& r : results) {
    if (r.status.ok()) {
      ++finished;
    } else {
      EXPECT_THAT(r.status, StatusIs(absl::StatusCode::kUnavailable));
      ++unavailable;
    }
  }
  EXPECT_GT(unavailable, 0) << "no stream was on the broken replica";
  EXPECT_GT(finished, 0) << "the healthy replica's streams should finish";
  EXPECT_LT(took, absl::Seconds(60));
  // New requests are all served by the healthy replica.
  auto client = cluster->Client();
  for (int i = 0; i < 4; ++i) {
    ChatResult r = RunChat(*client, Request(absl::StrCat("after ", i), 6));
    EXPECT_OK(r.status) << i;
  }
}

TEST(ClusterE2eTest, WorkersReRegisterAfterACoordinatorRestart) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));
  ASSERT_OK(RunChat(*cluster->Client(), Request("before", 4)).status);
  ASSERT_OK(cluster->RestartCoordinator());
  ASSERT_OK(cluster->WaitReady(1, absl::Seconds(30)));
  ChatResult r = RunChat(*cluster->Client(), Request("after the restart", 8));
  ASSERT_OK(r.status);
  EXPECT_EQ(r.done.usage().completion_tokens(), 8);
}

TEST(ClusterE2eTest, BadRequestsAreInvalidArgumentNamingTheFieldAndServingGoesOn) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 1, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));
  auto client = cluster->Client();
  struct Case {
    std::string name;
    std::function<void(v1::ChatRequest&)> edit;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no messages", [](v1::ChatRequest& r) { r.clear_messages(); },
       absl::StatusCode::kInvalidArgument, "messages"},
      {"unknown model", [](v1::ChatRequest& r) { r.set_model("nope"); },
       absl::StatusCode::kNotFound, "nope"},
      {"unknown role", [](v1::ChatRequest& r) { r.mutable_messages(0)->set_role("wizard"); },
       absl::StatusCode::kInvalidArgument, "role"},
      {"max_tokens 0", [](v1::ChatRequest& r) { r.set_max_tokens(0); },
       absl::StatusCode::kInvalidArgument, "max_tokens"},
      {"max_tokens above the context", [](v1::ChatRequest& r) { r.set_max_tokens(5000000); },
       absl::StatusCode::kInvalidArgument, "max_tokens"},
      {"negative temperature",
       [](v1::ChatRequest& r) { r.mutable_sampling()->set_temperature(-1); },
       absl::StatusCode::kInvalidArgument, "temperature"},
      {"prompt longer than the context",
       [](v1::ChatRequest& r) {
         std::string long_text;
         for (int i = 0; i < 3000; ++i) long_text += "word ";
         r.mutable_messages(0)->mutable_content(0)->set_text(long_text);
         r.set_max_tokens(1);
       },
       absl::StatusCode::kInvalidArgument, "context"},
  };
  for (const Case& c : cases) {
    v1::ChatRequest r = Request("hi", 4);
    c.edit(r);
    ChatResult res = RunChat(*client, r);
    EXPECT_THAT(res.status, StatusIs(c.code, HasSubstr(c.message))) << c.name;
  }
  // Invalid UTF-8 cannot be built with the C++ protobuf API (it refuses to serialise it), so it is
  // sent as raw bytes: the same ChatRequest with a text field holding 0xff.
  {
    v1::ChatRequest r = Request("XX", 4);
    std::string wire;
    ASSERT_TRUE(r.SerializeToString(&wire));
    const size_t at = wire.find("XX");
    ASSERT_NE(at, std::string::npos);
    wire[at] = static_cast<char>(0xff);
    auto channel =
        grpc::CreateChannel(cluster->client_address(), grpc::InsecureChannelCredentials());
    grpc::GenericStub generic(channel);
    grpc::ClientContext ctx;
    grpc::Slice slice(wire);
    grpc::ByteBuffer request_buffer(&slice, 1);
    grpc::CompletionQueue cq;
    auto call = generic.PrepareCall(&ctx, "/tpserve.v1.ChatService/Chat", &cq);
    call->StartCall(reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    cq.Next(&tag, &ok);
    call->Write(request_buffer, reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    call->WritesDone(reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
    grpc::ByteBuffer reply;
    call->Read(&reply, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(5));
    cq.Next(&tag, &ok);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("UTF-8"));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
  // The server keeps serving.
  ChatResult ok = RunChat(*client, Request("still there?", 4));
  EXPECT_OK(ok.status);
}

}  // namespace
}  // namespace tpserve::testing
