// Leader.Generate over real gRPC on loopback, with the scheduler on a fake engine: streaming,
// exactly-once endings, cancellation and deadlines freeing slots, status codes at the edge.
#include "worker/leader_service.h"

#include <memory>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_status.h"
#include "tests/testing/corrupt_images.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/worker/fake_step_engine.h"
#include "vision/image_plan.h"

namespace tpserve::worker {
namespace {

using cluster::v1::GenerateRequest;
using cluster::v1::GenerateResponse;
using testing::FakeGenerate;
using testing::FakeStepEngine;
using ::testing::HasSubstr;
using tpserve::testing::StatusIs;

EngineLimits Limits() {
  EngineLimits l;
  l.max_slots = 4;
  l.max_context = 512;
  l.max_tokens_per_step = 64;
  l.max_logit_rows = 64;
  l.kv_block_size = 16;
  l.num_kv_blocks = 64;
  l.vocab_size = 97;
  return l;
}

struct StreamResult {
  std::vector<int32_t> tokens;
  std::vector<GenerateResponse> responses;
  int done_messages = 0;
  grpc::Status status;
};

class LeaderServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = std::make_unique<FakeStepEngine>(Limits());
    scheduler_ = std::make_unique<Scheduler>(SchedulerOptions{}, nullptr);
    service_ = std::make_unique<LeaderService>(*scheduler_, join_token_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = cluster::v1::Leader::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                                             grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    StopServing();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  void StartServing() {
    step_thread_ = std::thread([this] { served_ = scheduler_->Serve(*engine_, {}); });
    while (!scheduler_->load().serving_once) absl::SleepFor(absl::Milliseconds(1));
  }
  void StopServing() {
    if (!step_thread_.joinable()) return;
    scheduler_->BeginDrain(absl::Seconds(5));
    step_thread_.join();
  }
  bool AwaitNoSlots() {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (absl::Now() < until) {
      if (engine_->memory_usage().slots_in_use == 0 && scheduler_->load().running == 0) return true;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return false;
  }

  StreamResult Generate(const GenerateRequest& request, grpc::ClientContext* context = nullptr) {
    grpc::ClientContext local;
    grpc::ClientContext* ctx = context != nullptr ? context : &local;
    StreamResult r;
    auto reader = stub_->Generate(ctx, request);
    GenerateResponse response;
    while (reader->Read(&response)) {
      r.tokens.insert(r.tokens.end(), response.token_ids().begin(), response.token_ids().end());
      r.done_messages += response.done();
      r.responses.push_back(response);
    }
    r.status = reader->Finish();
    return r;
  }

  static GenerateRequest Request(int32_t prompt_len, int32_t max_tokens, int32_t seed) {
    GenerateRequest r;
    r.set_request_id("req-" + std::to_string(seed));
    for (int32_t i = 0; i < prompt_len; ++i) r.add_prompt_ids((seed * 13 + i * 5) % 97);
    r.set_max_tokens(max_tokens);
    return r;
  }
  static std::vector<int32_t> Prompt(const GenerateRequest& r) {
    return std::vector<int32_t>(r.prompt_ids().begin(), r.prompt_ids().end());
  }

  std::unique_ptr<FakeStepEngine> engine_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<LeaderService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<cluster::v1::Leader::Stub> stub_;
  std::thread step_thread_;
  absl::Status served_;
  int port_ = 0;
  std::string join_token_;  // set before SetUp by fixtures that want one
};

class LeaderServiceWithTokenTest : public LeaderServiceTest {
 protected:
  void SetUp() override {
    join_token_ = "cluster-secret";
    LeaderServiceTest::SetUp();
  }
};

// A leader with a join token serves only callers that present it (the coordinator): a process
// that found the worker's port can neither generate nor take a slot.
TEST_F(LeaderServiceWithTokenTest, GenerateWithoutTheJoinTokenIsUnauthenticated) {
  StartServing();
  GenerateRequest req = Request(8, 4, 3);
  StreamResult r = Generate(req);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(r.status.error_message(), HasSubstr("join token missing"));
  EXPECT_TRUE(r.tokens.empty());
  req.set_join_token("cluster-secreT");
  r = Generate(req);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(r.status.error_message(), HasSubstr("join token wrong"));
  EXPECT_EQ(scheduler_->load().running, 0);
  req.set_join_token("cluster-secret");
  r = Generate(req);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.tokens, FakeGenerate(Prompt(req), 4, 97));
}

TEST_F(LeaderServiceTest, StreamsTheSequenceAndEndsWithDone) {
  StartServing();
  const GenerateRequest req = Request(20, 12, 1);
  const StreamResult r = Generate(req);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.tokens, FakeGenerate(Prompt(req), 12, 97));
  EXPECT_EQ(r.done_messages, 1);
  ASSERT_FALSE(r.responses.empty());
  EXPECT_TRUE(r.responses.back().done());
  EXPECT_EQ(r.responses.back().finish(), GenerateResponse::FINISH_LENGTH);
  EXPECT_EQ(r.responses.back().prompt_tokens(), 20);
  EXPECT_EQ(r.responses.front().prompt_tokens(), 20);
  EXPECT_GE(r.responses.front().timing().queue_seconds(), 0);
  EXPECT_GT(r.responses.front().timing().step_seconds(), 0);
  EXPECT_GE(r.responses.front().timing().batch_sequences(), 1);
}

TEST_F(LeaderServiceTest, StopIdsAndSamplingParamsReachTheScheduler) {
  StartServing();
  GenerateRequest req = Request(8, 40, 2);
  const std::vector<int32_t> alone = FakeGenerate(Prompt(req), 40, 97);
  req.add_stop_token_ids(alone[5]);
  StreamResult r = Generate(req);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.responses.back().finish(), GenerateResponse::FINISH_STOP_TOKEN);
  EXPECT_EQ(r.tokens.back(), alone[5]);

  req = Request(8, 10, 3);
  auto* range = req.add_allowed_tokens();
  range->set_begin(40);
  range->set_end(42);
  r = Generate(req);
  ASSERT_TRUE(r.status.ok());
  for (int32_t t : r.tokens) EXPECT_TRUE(t == 40 || t == 41) << t;
}

TEST_F(LeaderServiceTest, SixteenConcurrentStreamsEachEndExactlyOnce) {
  StartServing();
  constexpr int kStreams = 16;
  std::vector<StreamResult> results(kStreams);
  std::vector<GenerateRequest> requests;
  for (int i = 0; i < kStreams; ++i) requests.push_back(Request(1 + i * 9, 4 + i % 5, i));
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back(
        [&, i] { results[static_cast<size_t>(i)] = Generate(requests[static_cast<size_t>(i)]); });
  }
  for (auto& c : clients) c.join();
  for (int i = 0; i < kStreams; ++i) {
    const StreamResult& r = results[static_cast<size_t>(i)];
    ASSERT_TRUE(r.status.ok()) << i << ": " << r.status.error_message();
    EXPECT_EQ(r.done_messages, 1) << i;
    EXPECT_EQ(r.tokens, FakeGenerate(Prompt(requests[static_cast<size_t>(i)]),
                                     requests[static_cast<size_t>(i)].max_tokens(), 97))
        << i;
  }
  EXPECT_TRUE(AwaitNoSlots());
}

TEST_F(LeaderServiceTest, CancellingTheCallFreesTheSlot) {
  engine_->set_step_delay(absl::Milliseconds(2));
  StartServing();
  grpc::ClientContext ctx;
  auto reader = stub_->Generate(&ctx, Request(10, 400, 4));
  GenerateResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(engine_->memory_usage().slots_in_use, 1);
  ctx.TryCancel();
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(AwaitNoSlots());
}

TEST_F(LeaderServiceTest, AnExpiredDeadlineFreesTheSlot) {
  engine_->set_step_delay(absl::Milliseconds(2));
  StartServing();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(150));
  const StreamResult r = Generate(Request(10, 400, 5), &ctx);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(r.done_messages, 0);
  EXPECT_TRUE(AwaitNoSlots());
}

TEST_F(LeaderServiceTest, BadRequestsGetCodesNamingTheField) {
  // While loading: FAILED_PRECONDITION.
  StreamResult r = Generate(Request(4, 4, 1));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  StartServing();
  r = Generate(Request(0, 4, 1));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("prompt_ids"));
  GenerateRequest bad = Request(4, 4, 1);
  bad.set_prompt_ids(2, 500);
  r = Generate(bad);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("prompt_ids[2]"));
  r = Generate(Request(4, 0, 1));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("max_tokens"));
  bad = Request(4, 4, 1);
  bad.mutable_sampling()->set_temperature(-1);
  r = Generate(bad);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("temperature"));
  // 64 blocks of 16 = 1024 tokens: a 500-token sequence fits the context but... it does fit the
  // pool; 600 + 400 = 1000 > context 512 is a bad request; a pool too small is "never".
  r = Generate(Request(100, 500, 1));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // The server keeps serving.
  r = Generate(Request(4, 3, 1));
  EXPECT_TRUE(r.status.ok());
}

// Cluster protocol 3: SamplingParams fields are optional. Unset takes the sampler's defaults; a
// set 0 is a 0 (checked like any value), no longer "off".
TEST(GenerateParamsFromProtoTest, UnsetSamplingFieldsKeepTheDefaultsAndSetZerosStay) {
  GenerateRequest unset;
  const GenerateParams d = GenerateParamsFromProto(unset);
  const shard::SamplingParams defaults;
  EXPECT_EQ(d.sampling.temperature, defaults.temperature);
  EXPECT_EQ(d.sampling.top_k, defaults.top_k);
  EXPECT_EQ(d.sampling.top_p, defaults.top_p);
  EXPECT_EQ(d.sampling.min_p, defaults.min_p);
  EXPECT_EQ(d.sampling.repetition_penalty, defaults.repetition_penalty);
  EXPECT_FALSE(d.sampling.seed.has_value());

  GenerateRequest set;
  set.mutable_sampling()->set_temperature(0.7f);
  set.mutable_sampling()->set_top_k(5);
  set.mutable_sampling()->set_top_p(0.0f);
  set.mutable_sampling()->set_min_p(0.1f);
  set.mutable_sampling()->set_repetition_penalty(0.0f);
  set.mutable_sampling()->set_seed(0);
  const GenerateParams p = GenerateParamsFromProto(set);
  EXPECT_EQ(p.sampling.temperature, 0.7f);
  EXPECT_EQ(p.sampling.top_k, 5);
  EXPECT_EQ(p.sampling.top_p, 0.0f);
  EXPECT_EQ(p.sampling.min_p, 0.1f);
  EXPECT_EQ(p.sampling.repetition_penalty, 0.0f);
  ASSERT_TRUE(p.sampling.seed.has_value());
  EXPECT_EQ(*p.sampling.seed, 0u);
  EXPECT_THAT(p.sampling.Validate(), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("top_p: must be in (0, 1], got 0")));
}

TEST_F(LeaderServiceTest, ASetZeroTopPIsABadRequestNotOff) {
  StartServing();
  GenerateRequest bad = Request(4, 4, 1);
  bad.mutable_sampling()->set_top_p(0.0f);
  const StreamResult r = Generate(bad);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.status.error_message(), HasSubstr("top_p"));
}

TEST_F(LeaderServiceTest, SequencesThatCanNeverFitAreResourceExhausted) {
  EngineLimits l = Limits();
  l.num_kv_blocks = 4;  // 64 tokens in all
  engine_ = std::make_unique<FakeStepEngine>(l);
  StartServing();
  const StreamResult r = Generate(Request(60, 10, 1));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(r.status.error_message(), HasSubstr("KV blocks"));
}

TEST_F(LeaderServiceTest, AFailedGroupEndsStreamsUnavailable) {
  engine_->set_step_delay(absl::Milliseconds(2));
  engine_->FailAtStep(20);
  StartServing();
  const StreamResult r = Generate(Request(10, 400, 6));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(r.status.error_message(), HasSubstr("fake rank 1 died"));
  step_thread_.join();
  EXPECT_EQ(Generate(Request(4, 4, 1)).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcStatusTest, EveryCodeRoundTrips) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status s(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    const grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(g, "call").code(), s.code());
  }
}

// An image whose header reads fine but whose body does not decode is refused with the request's
// own INVALID_ARGUMENT before it can enter a step (inside a step the decoder error would fail the
// group, and every stream on it); the leader goes on serving. This holds without the
// coordinator's own check: a leader trusts no caller.
TEST_F(LeaderServiceTest, AnImageThatDoesNotDecodeFailsItsRequestAloneBeforeAnyStep) {
  ImageSettings settings;
  settings.image_token_id = 96;
  service_->SetImageSettings(settings);
  StartServing();
  const std::string png =
      tpserve::testing::ReadSourceFile("tests/golden/tiny_vision/images/palette.png");
  ASSERT_FALSE(png.empty());
  ASSERT_OK_AND_ASSIGN(int64_t pads, vision::CountImageTokens(png, settings.preprocess, {}));
  auto with_image = [&](const std::string& bytes) {
    GenerateRequest r = Request(4, 4, 3);
    for (int64_t i = 0; i < pads; ++i) r.add_prompt_ids(settings.image_token_id);
    r.add_prompt_ids(5);
    r.add_images(bytes);
    return r;
  };
  // The intact file plans and decodes.
  GenerateParams intact = GenerateParamsFromProto(with_image(png));
  ASSERT_OK(AttachImages(with_image(png), &settings, intact));
  EXPECT_EQ(intact.images.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::vector<tpserve::testing::CorruptImage> bad,
                       tpserve::testing::CorruptPngs(png));
  const int64_t steps_before = engine_->steps();
  for (const tpserve::testing::CorruptImage& image : bad) {
    StreamResult r = Generate(with_image(image.bytes));
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << image.name;
    EXPECT_THAT(r.status.error_message(), HasSubstr("images[0]")) << image.name;
    EXPECT_TRUE(r.tokens.empty()) << image.name;
  }
  EXPECT_EQ(engine_->steps(), steps_before) << "a bad image reached a step";
  StreamResult ok = Generate(Request(6, 5, 4));
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.tokens.size(), 5u);
}

}  // namespace
}  // namespace tpserve::worker
