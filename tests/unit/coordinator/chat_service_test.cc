// The chat service end to end in one process: a real coordinator on loopback, fake workers that
// register and heartbeat through the real cluster service, and fake leaders streaming token ids
// built with the real test tokenizer.
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;
using testing::FakeLeader;
using ::testing::HasSubstr;
using testing::LeaderScript;

LeaderScript Answer(const std::string& text, int per_message = 1) {
  LeaderScript s;
  s.responses = testing::TokenResponses(testing::Ids(text), per_message);
  return s;
}

class ChatServiceTest : public ::testing::Test {
 protected:
  std::string dir_ = testing::MakeModelDir({.max_position_embeddings = 512});
};

TEST_F(ChatServiceTest, StreamsReasoningContentIdsAndOneDone) {
  testing::TestCoordinator tc;
  const std::string text = "Thinking hard.\n</think>\n\nThe answer is 42.<|im_end|>";
  FakeLeader leader([&](const cpb::GenerateRequest&) { return Answer(text, 2); });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  pb::ChatRequest request = testing::SimpleRequest("m", "What is the answer?");
  request.set_enable_thinking(true);
  request.set_request_id("req-7");
  testing::ChatResult r = testing::RunChat(*tc.ChatStub(), request);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.Reasoning(), "Thinking hard.");
  EXPECT_EQ(r.Content(), "The answer is 42.");
  EXPECT_EQ(r.TokenIds(), testing::Ids(text));
  EXPECT_EQ(r.dones(), 1);
  EXPECT_TRUE(r.responses.back().has_done());
  for (const auto& resp : r.responses) EXPECT_EQ(resp.request_id(), "req-7");
  const pb::Done done = r.done();
  EXPECT_EQ(done.finish_reason(), pb::FINISH_REASON_STOP);
  EXPECT_EQ(done.usage().completion_tokens(), static_cast<int>(testing::Ids(text).size()));
  EXPECT_GT(done.usage().reasoning_tokens(), 0);
  EXPECT_GT(done.total_seconds(), 0);
  // What the leader got: the prompt, the turn's stop ids, and the client's deadline.
  ASSERT_EQ(leader.requests().size(), 1u);
  const cpb::GenerateRequest g = leader.requests()[0];
  EXPECT_EQ(done.usage().prompt_tokens(), g.prompt_ids_size());
  EXPECT_THAT(g.stop_token_ids(), ::testing::ElementsAre(248046, 248044));
  EXPECT_TRUE(g.in_thinking());
  EXPECT_EQ(g.request_id(), "req-7");
  EXPECT_LT(leader.deadlines()[0], std::chrono::system_clock::now() + std::chrono::seconds(11));
  EXPECT_TRUE(testing::WaitFor([&] { return tc.coordinator->router().running("m") == 0; }));
}

TEST_F(ChatServiceTest, RoutesToTheLeastLoadedGroupAndKeepsSessions) {
  testing::TestCoordinator tc;
  FakeLeader busy([&](const cpb::GenerateRequest&) { return Answer("busy<|im_end|>"); });
  FakeLeader idle([&](const cpb::GenerateRequest&) { return Answer("idle<|im_end|>"); });
  auto w1 = tc.AddReadyGroup("m", dir_, "g1", busy);
  auto w2 = tc.AddReadyGroup("m", dir_, "g2", idle);
  ASSERT_TRUE(w1->Heartbeat(cpb::WORKER_STATE_READY, /*running=*/3, 0, /*max=*/4));
  auto stub = tc.ChatStub();
  EXPECT_EQ(testing::RunChat(*stub, testing::SimpleRequest("m")).Content(), "idle");
  // A session that started on the busy group stays there while it is ready.
  ASSERT_TRUE(w2->Heartbeat(cpb::WORKER_STATE_READY, 4, 0, 4));
  ASSERT_TRUE(w1->Heartbeat(cpb::WORKER_STATE_READY, 1, 0, 4));
  pb::ChatRequest session = testing::SimpleRequest("m");
  session.set_session_id("conversation-1");
  EXPECT_EQ(testing::RunChat(*stub, session).Content(), "busy");
  ASSERT_TRUE(w1->Heartbeat(cpb::WORKER_STATE_READY, 3, 0, 4));
  ASSERT_TRUE(w2->Heartbeat(cpb::WORKER_STATE_READY, 0, 0, 4));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(testing::RunChat(*stub, session).Content(), "busy");
  EXPECT_EQ(testing::RunChat(*stub, testing::SimpleRequest("m")).Content(), "idle");
}

TEST_F(ChatServiceTest, ClientCancellationReachesTheLeader) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    LeaderScript s = Answer("Hello", 1);
    s.responses.back().set_done(false);
    s.end = LeaderScript::End::kStall;
    return s;
  });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  auto stub = tc.ChatStub();
  grpc::ClientContext context;
  auto reader = stub->Chat(&context, testing::SimpleRequest("m"));
  pb::ChatResponse first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_EQ(tc.coordinator->router().running("m"), 1);
  context.TryCancel();
  while (reader->Read(&first)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(testing::WaitFor([&] { return leader.cancellations() == 1; }));
  EXPECT_TRUE(testing::WaitFor([&] { return leader.open_streams() == 0; }));
  EXPECT_TRUE(testing::WaitFor([&] { return tc.coordinator->router().running("m") == 0; }));
  EXPECT_TRUE(testing::WaitFor([&] { return tc.coordinator->live_calls() == 0; }));
}

TEST_F(ChatServiceTest, DeadlineReachesTheLeader) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    LeaderScript s;
    s.end = LeaderScript::End::kStall;
    return s;
  });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  testing::ChatResult r =
      testing::RunChat(*tc.ChatStub(), testing::SimpleRequest("m"), absl::Milliseconds(300));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(r.dones(), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return leader.open_streams() == 0 && leader.calls() == 1; }));
  EXPECT_TRUE(testing::WaitFor([&] { return tc.coordinator->router().running("m") == 0; }));
}

TEST_F(ChatServiceTest, ShutdownEndsOpenStreamsAndCancelsTheirLeaders) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    LeaderScript s = Answer("Hello", 1);
    s.responses.back().set_done(false);
    s.end = LeaderScript::End::kStall;
    return s;
  });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  auto stub = tc.ChatStub();
  grpc::ClientContext context;
  auto reader = stub->Chat(&context, testing::SimpleRequest("m"));
  pb::ChatResponse response;
  ASSERT_TRUE(reader->Read(&response));
  tc.coordinator->Shutdown();  // the 200 ms grace runs out: the stream is cancelled
  while (reader->Read(&response)) {
  }
  EXPECT_FALSE(reader->Finish().ok());
  EXPECT_EQ(tc.coordinator->live_calls(), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return leader.cancellations() == 1; }));
}

TEST_F(ChatServiceTest, StopStringEndsTheStreamAndCancelsTheLeader) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    LeaderScript s = Answer("one two three. END and more text");
    s.responses.back().set_done(false);
    s.end = LeaderScript::End::kStall;  // a leader that would go on generating
    return s;
  });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  pb::ChatRequest request = testing::SimpleRequest("m");
  request.add_stop("END");
  testing::ChatResult r = testing::RunChat(*tc.ChatStub(), request);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.Content(), "one two three.");
  EXPECT_EQ(r.done().finish_reason(), pb::FINISH_REASON_STOP);
  EXPECT_EQ(r.dones(), 1);
  EXPECT_TRUE(testing::WaitFor([&] { return leader.cancellations() == 1; }));
  EXPECT_TRUE(testing::WaitFor([&] { return tc.coordinator->router().running("m") == 0; }));
}

TEST_F(ChatServiceTest, ToolCallsFinishWithToolCalls) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    return Answer(
        "<tool_call>\n<function=lookup>\n<parameter=q>\ncats\n</parameter>\n</function>\n"
        "</tool_call><|im_end|>",
        3);
  });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  pb::ChatRequest request = testing::SimpleRequest("m");
  request.add_tools()->set_name("lookup");
  testing::ChatResult r = testing::RunChat(*tc.ChatStub(), request);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_EQ(r.ToolCalls().size(), 1u);
  EXPECT_EQ(r.ToolCalls()[0].name(), "lookup");
  EXPECT_EQ(r.ToolCalls()[0].arguments_json(), R"({"q":"cats"})");
  EXPECT_EQ(r.Content(), "");
  EXPECT_EQ(r.done().finish_reason(), pb::FINISH_REASON_TOOL_CALLS);
}

TEST_F(ChatServiceTest, LeaderFailingMidStreamEndsUnavailableAndTakesTheGroupOut) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    LeaderScript s = Answer("partial output");
    s.responses.back().set_done(false);
    s.end = LeaderScript::End::kFail;
    return s;
  });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  auto stub = tc.ChatStub();
  testing::ChatResult r = testing::RunChat(*stub, testing::SimpleRequest("m"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(r.status.error_message(),
              AllOf(HasSubstr("m/g1"), HasSubstr(leader.address()), HasSubstr("rank 1 is gone")));
  EXPECT_EQ(r.Content(), "partial output");
  EXPECT_EQ(r.dones(), 0);
  // Out of routing until the leader reports READY again.
  testing::ChatResult next = testing::RunChat(*stub, testing::SimpleRequest("m"));
  EXPECT_EQ(next.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(next.status.error_message(), HasSubstr("group g1 is failed"));
  ASSERT_TRUE(worker->Heartbeat(cpb::WORKER_STATE_READY));
  EXPECT_EQ(leader.calls(), 1);
  testing::RunChat(*stub, testing::SimpleRequest("m"));
  EXPECT_EQ(leader.calls(), 2);
}

TEST_F(ChatServiceTest, UnreachableLeaderIsUnavailableNamingTheReplica) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) { return Answer("x"); });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  leader.Stop();
  testing::ChatResult r = testing::RunChat(*tc.ChatStub(), testing::SimpleRequest("m"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(r.status.error_message(), HasSubstr("replica m/g1"));
}

TEST_F(ChatServiceTest, BoundedQueueGivesResourceExhausted) {
  CoordinatorOptions options = testing::TestCoordinator::DefaultOptions();
  options.max_queue = 1;
  testing::TestCoordinator tc(options);
  std::atomic<int> n{0};
  FakeLeader leader([&](const cpb::GenerateRequest&) {
    if (n++ == 0) {
      LeaderScript s;
      s.end = LeaderScript::End::kStall;
      return s;
    }
    return Answer("second<|im_end|>");
  });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader, /*max_sequences=*/1);
  auto stub = tc.ChatStub();
  grpc::ClientContext first_context;
  auto first = stub->Chat(&first_context, testing::SimpleRequest("m"));
  ASSERT_TRUE(testing::WaitFor([&] { return leader.open_streams() == 1; }));
  testing::ChatResult second;
  std::thread waiter([&] { second = testing::RunChat(*stub, testing::SimpleRequest("m")); });
  ASSERT_TRUE(testing::WaitFor([&] { return tc.coordinator->router().waiting("m") == 1; }));
  testing::ChatResult third = testing::RunChat(*stub, testing::SimpleRequest("m"));
  EXPECT_EQ(third.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(third.status.error_message(), AllOf(HasSubstr("--max-queue"), HasSubstr("1")));
  first_context.TryCancel();
  waiter.join();
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.Content(), "second");
  first->Finish();
}

TEST_F(ChatServiceTest, ManyConcurrentStreamsEachEndExactlyOnce) {
  CoordinatorOptions options = testing::TestCoordinator::DefaultOptions();
  options.max_queue = 64;
  testing::TestCoordinator tc(options);
  FakeLeader a([&](const cpb::GenerateRequest&) { return Answer("alpha beta gamma<|im_end|>"); });
  FakeLeader b([&](const cpb::GenerateRequest&) { return Answer("alpha beta gamma<|im_end|>"); });
  auto wa = tc.AddReadyGroup("m", dir_, "ga", a, 4);
  auto wb = tc.AddReadyGroup("m", dir_, "gb", b, 4);
  auto stub = tc.ChatStub();
  constexpr int kStreams = 24;
  std::vector<testing::ChatResult> results(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = testing::RunChat(*stub, testing::SimpleRequest("m")); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    EXPECT_EQ(r.dones(), 1);
    EXPECT_EQ(r.Content(), "alpha beta gamma");
  }
  EXPECT_EQ(a.calls() + b.calls(), kStreams);
  EXPECT_GT(a.calls(), 0);
  EXPECT_GT(b.calls(), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return tc.coordinator->router().running("m") == 0; }));
}

TEST_F(ChatServiceTest, BadRequestsGetInvalidArgumentAndTheServerKeepsServing) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) { return Answer("fine<|im_end|>"); });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  auto stub = tc.ChatStub();
  struct Case {
    std::function<void(pb::ChatRequest*)> edit;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](pb::ChatRequest* r) { r->clear_messages(); }, grpc::StatusCode::INVALID_ARGUMENT,
       "messages: at least one message is required"},
      {[](pb::ChatRequest* r) { r->set_model("nope"); }, grpc::StatusCode::NOT_FOUND,
       "'nope' not found (available: m)"},
      {[](pb::ChatRequest* r) { r->mutable_messages(0)->set_role("robot"); },
       grpc::StatusCode::INVALID_ARGUMENT, "messages[0].role: unknown role 'robot'"},
      {[](pb::ChatRequest* r) { r->set_max_tokens(0); }, grpc::StatusCode::INVALID_ARGUMENT,
       "max_tokens: must be > 0"},
      {[](pb::ChatRequest* r) { r->set_max_tokens(100000); }, grpc::StatusCode::INVALID_ARGUMENT,
       "max_tokens: 100000 is above the context length of model 'm' (512)"},
      {[](pb::ChatRequest* r) { r->mutable_sampling()->set_temperature(-1); },
       grpc::StatusCode::INVALID_ARGUMENT, "sampling.temperature: must be >= 0"},
      {[](pb::ChatRequest* r) {
         r->mutable_messages(0)->mutable_content(0)->set_text(
             absl::StrCat(std::string(6000, 'q'), " a b"));
       },
       grpc::StatusCode::INVALID_ARGUMENT, "messages: prompt has "},
      {[](pb::ChatRequest* r) {
         r->mutable_messages(0)->mutable_content(0)->set_text(std::string("bad \xC0\xAF utf8"));
       },
       grpc::StatusCode::INVALID_ARGUMENT,
       "messages[0].content[0].text: invalid UTF-8 at byte offset 4"},
      // 100 KB values: refused by size and never echoed whole (a status that quoted them would
      // exceed gRPC's metadata limit and reach the client as RESOURCE_EXHAUSTED "Stream removed").
      {[](pb::ChatRequest* r) { r->set_model(std::string(100000, 'm')); },
       grpc::StatusCode::INVALID_ARGUMENT, "model: at most 256 bytes, got 100000"},
      {[](pb::ChatRequest* r) { r->mutable_messages(0)->set_role(std::string(100000, 'r')); },
       grpc::StatusCode::INVALID_ARGUMENT, "messages[0].role: at most 256 bytes, got 100000"},
      {[](pb::ChatRequest* r) { r->mutable_messages(0)->set_role(std::string(200, 'r')); },
       grpc::StatusCode::INVALID_ARGUMENT,
       "messages[0].role: unknown role 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr...' (200 bytes)"},
      {[](pb::ChatRequest* r) { r->set_model(std::string(200, 'n')); }, grpc::StatusCode::NOT_FOUND,
       "model: 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' (200 bytes) not found"},
      {[](pb::ChatRequest* r) { r->mutable_messages(0)->set_name(std::string(100000, 'x')); },
       grpc::StatusCode::INVALID_ARGUMENT, "messages[0].name: at most 256 bytes, got 100000"},
      {[](pb::ChatRequest* r) {
         pb::Tool* t = r->add_tools();
         t->set_name(std::string(100000, 't'));
       },
       grpc::StatusCode::INVALID_ARGUMENT, "tools[0].name: at most 256 bytes, got 100000"},
      {[](pb::ChatRequest* r) { r->set_request_id(std::string(100000, 'i')); },
       grpc::StatusCode::INVALID_ARGUMENT, "request_id: at most 256 bytes, got 100000"},
  };
  for (const Case& c : cases) {
    pb::ChatRequest request = testing::SimpleRequest("m");
    c.edit(&request);
    testing::ChatResult r = testing::RunChat(*stub, request);
    EXPECT_EQ(r.status.error_code(), c.code) << c.message << ": " << r.status.error_message();
    EXPECT_THAT(r.status.error_message(), HasSubstr(c.message));
    EXPECT_LE(r.status.error_message().size(), 512u) << c.message;
    EXPECT_TRUE(r.responses.empty());
  }
  EXPECT_EQ(leader.calls(), 0);
  testing::ChatResult ok = testing::RunChat(*stub, testing::SimpleRequest("m"));
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.Content(), "fine");
}

TEST_F(ChatServiceTest, NoReadyReplicaIsUnavailable) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) { return Answer("x"); });
  testing::FakeWorker loading(tc.cluster_channel(), "w1", leader.address());
  ASSERT_TRUE(loading.Register(testing::MakeAssignment("m", dir_, "g1")).ok());
  ASSERT_TRUE(loading.Heartbeat(cpb::WORKER_STATE_LOADING));
  testing::ChatResult r = testing::RunChat(*tc.ChatStub(), testing::SimpleRequest("m"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(r.status.error_message(), AllOf(HasSubstr("model 'm'"), HasSubstr("loading")));
}

TEST_F(ChatServiceTest, LeaseExpiryAndReRegistration) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) { return Answer("hi<|im_end|>"); });
  auto worker = tc.AddReadyGroup("m", dir_, "g1", leader);
  auto stub = tc.ChatStub();
  ASSERT_TRUE(testing::RunChat(*stub, testing::SimpleRequest("m")).status.ok());
  tc.clock.Advance(absl::Seconds(2));  // two heartbeat periods of silence
  EXPECT_EQ(testing::RunChat(*stub, testing::SimpleRequest("m")).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(worker->Heartbeat(cpb::WORKER_STATE_READY));  // known: false -> re-register
  ASSERT_TRUE(worker->Register(testing::MakeAssignment("m", dir_, "g1")).ok());
  ASSERT_TRUE(worker->Heartbeat(cpb::WORKER_STATE_READY));
  EXPECT_TRUE(testing::RunChat(*stub, testing::SimpleRequest("m")).status.ok());
}

TEST_F(ChatServiceTest, ListModelsReportsReplicas) {
  testing::TestCoordinator tc;
  FakeLeader leader([&](const cpb::GenerateRequest&) { return Answer("x"); });
  auto ready = tc.AddReadyGroup("m", dir_, "g1", leader);
  ASSERT_TRUE(ready->Heartbeat(cpb::WORKER_STATE_READY, 0, 0, 4, /*max_context=*/300));
  testing::FakeWorker forming(tc.cluster_channel(), "w2", "127.0.0.1:1");
  ASSERT_TRUE(forming.Register(testing::MakeAssignment("m", dir_, "g2", 0, 2)).ok());
  const std::string noise = testing::MakeModelDir({.vision = false, .random_weights = true});
  testing::FakeWorker other(tc.cluster_channel(), "w3", "127.0.0.1:2");
  ASSERT_TRUE(other.Register(testing::MakeAssignment("noise", noise, "g1")).ok());

  pb::ListModelsResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(tc.ChatStub()->ListModels(&context, pb::ListModelsRequest(), &response).ok());
  ASSERT_EQ(response.models_size(), 2);
  const pb::ModelInfo& m = response.models(0);
  EXPECT_EQ(m.name(), "m");
  EXPECT_EQ(m.tier(), "custom");
  EXPECT_THAT(m.capabilities(), ::testing::ElementsAre("vision", "thinking", "tools"));
  EXPECT_EQ(m.context_length(), 300);
  EXPECT_EQ(m.replicas(), 2);
  EXPECT_EQ(m.ready_replicas(), 1);
  EXPECT_FALSE(m.random_weights());
  const pb::ModelInfo& n = response.models(1);
  EXPECT_EQ(n.name(), "noise");
  EXPECT_THAT(n.capabilities(), ::testing::ElementsAre("thinking", "tools"));
  EXPECT_EQ(n.context_length(), 4096);
  EXPECT_EQ(n.ready_replicas(), 0);
  EXPECT_TRUE(n.random_weights());
}

}  // namespace
}  // namespace tpserve::coordinator
