#include "tests/unit/coordinator/coordinator_test_util.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "model/model_spec.h"
#include "tests/testing/test_env.h"

namespace tpserve::coordinator::testing {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;

std::string TestTokenizerPath() {
  return ::tpserve::testing::SourceDir() +
         "/tests/unit/tokenizer/testdata/qwen35_style/tokenizer.json";
}

const tokenizer::Tokenizer& TestTokenizer() {
  static const tokenizer::Tokenizer* tok = [] {
    absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> t =
        tokenizer::Tokenizer::FromFile(TestTokenizerPath());
    if (!t.ok()) {
      std::fprintf(stderr, "cannot load the test tokenizer: %s\n", t.status().ToString().c_str());
      std::abort();
    }
    return t->release();
  }();
  return *tok;
}

std::vector<int32_t> Ids(const std::string& text) {
  absl::StatusOr<std::vector<int32_t>> ids = TestTokenizer().Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<int32_t>();
}

std::string MakeModelDir(const ModelDirOptions& options) {
  const std::string dir = ::tpserve::testing::MakeTempDir();
  absl::StatusOr<model::Qwen35Spec> spec = model::Qwen35Preset(options.preset);
  EXPECT_TRUE(spec.ok()) << spec.status();
  if (!options.vision) spec->vision.reset();
  spec->text.max_position_embeddings = options.max_position_embeddings;
  spec->random_weights = options.random_weights;
  std::ofstream(dir + "/config.json") << model::Qwen35SpecToConfigJson(*spec);
  std::filesystem::copy_file(TestTokenizerPath(), dir + "/tokenizer.json");
  std::ofstream(dir + "/generation_config.json")
      << R"({"eos_token_id": [248046, 248044], "do_sample": true, "temperature": 0.7,
             "top_k": 20, "top_p": 0.8})";
  if (options.qwen36_template) {
    std::ofstream(dir + "/chat_template.jinja") << "{%- if preserve_thinking %}{%- endif %}";
  }
  return dir;
}

std::vector<cpb::GenerateResponse> TokenResponses(const std::vector<int32_t>& ids, int per_message,
                                                  cpb::GenerateResponse::Finish finish, bool done) {
  std::vector<cpb::GenerateResponse> out;
  for (size_t i = 0; i < ids.size(); i += static_cast<size_t>(per_message)) {
    cpb::GenerateResponse r;
    for (size_t j = i; j < std::min(ids.size(), i + static_cast<size_t>(per_message)); ++j) {
      r.add_token_ids(ids[j]);
    }
    r.mutable_timing()->set_step_seconds(0.001);
    out.push_back(std::move(r));
  }
  if (done) {
    if (out.empty()) out.emplace_back();
    out.back().set_done(true);
    out.back().set_finish(finish);
  }
  return out;
}

// One Generate call of the fake leader.
class FakeLeaderWriter final : public grpc::ServerWriteReactor<cpb::GenerateResponse> {
 public:
  FakeLeaderWriter(std::atomic<int>* open, std::atomic<int>* cancellations, LeaderScript script)
      : open_(open), cancellations_(cancellations), script_(std::move(script)) {
    ++*open_;
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    Next();
  }
  void OnCancel() override {
    ++*cancellations_;
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }
  void OnDone() override {
    --*open_;
    delete this;
  }

 private:
  void Next() {
    if (next_ < script_.responses.size()) {
      StartWrite(&script_.responses[next_++]);
      return;
    }
    switch (script_.end) {
      case LeaderScript::End::kOk:
        FinishOnce(grpc::Status::OK);
        break;
      case LeaderScript::End::kFail:
        FinishOnce(script_.fail_status);
        break;
      case LeaderScript::End::kStall:
        break;
    }
  }
  void FinishOnce(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(status);
  }

  std::atomic<int>* open_;
  std::atomic<int>* cancellations_;
  LeaderScript script_;
  size_t next_ = 0;
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

class FakeLeader::Service final : public cpb::Leader::CallbackService {
 public:
  explicit Service(FakeLeader* owner) : owner_(owner) {}
  grpc::ServerWriteReactor<cpb::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const cpb::GenerateRequest* request) override {
    {
      absl::MutexLock lock(&owner_->mu_);
      owner_->requests_.push_back(*request);
      owner_->deadlines_.push_back(context->deadline());
    }
    ++owner_->calls_;
    return new FakeLeaderWriter(&owner_->open_, &owner_->cancellations_, owner_->script_(*request));
  }

 private:
  FakeLeader* owner_;
};

FakeLeader::FakeLeader(ScriptFn script) : script_(std::move(script)) {
  service_ = std::make_unique<Service>(this);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeLeader::~FakeLeader() { Stop(); }

void FakeLeader::Stop() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
}

std::vector<std::chrono::system_clock::time_point> FakeLeader::deadlines() const {
  absl::MutexLock lock(&mu_);
  return deadlines_;
}

std::vector<cpb::GenerateRequest> FakeLeader::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

FakeWorker::FakeWorker(std::shared_ptr<grpc::Channel> cluster_channel, std::string worker_id,
                       std::string address)
    : stub_(cpb::Coordinator::NewStub(cluster_channel)),
      id_(std::move(worker_id)),
      address_(std::move(address)) {}

grpc::Status FakeWorker::Register(const cpb::Assignment& assignment, const std::string& join_token,
                                  cpb::RegisterResponse* response, uint32_t protocol_version,
                                  const cpb::DeviceInfo& device) {
  cpb::RegisterRequest request;
  request.set_protocol_version(protocol_version);
  request.set_join_token(join_token);
  request.set_worker_id(id_);
  request.set_address(address_);
  *request.mutable_device() = device;
  *request.mutable_assignment() = assignment;
  cpb::RegisterResponse ignored;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stub_->Register(&context, request, response != nullptr ? response : &ignored);
}

bool FakeWorker::Heartbeat(cpb::WorkerState state, int running, int waiting, int max_sequences,
                           int max_context) {
  cpb::HeartbeatRequest request;
  request.set_worker_id(id_);
  request.set_state(state);
  request.mutable_load()->set_running_sequences(running);
  request.mutable_load()->set_waiting_sequences(waiting);
  request.mutable_load()->set_max_sequences(max_sequences);
  request.mutable_load()->set_max_context(max_context);
  cpb::HeartbeatResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const grpc::Status status = stub_->Heartbeat(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.known();
}

cpb::Assignment MakeAssignment(const std::string& model, const std::string& dir,
                               const std::string& group, int rank, int world_size) {
  cpb::Assignment a;
  a.set_model(model);
  a.set_model_dir(dir);
  a.set_group(group);
  a.set_rank(rank);
  a.set_world_size(world_size);
  return a;
}

CoordinatorOptions TestCoordinator::DefaultOptions() {
  CoordinatorOptions o;
  o.listen = "127.0.0.1:0";
  o.cluster_listen = "127.0.0.1:0";
  o.heartbeat_interval = absl::Seconds(1);  // on the fake clock
  o.housekeeping_interval = absl::Milliseconds(20);
  o.shutdown_grace = absl::Milliseconds(200);
  o.max_queue = 4;
  return o;
}

TestCoordinator::TestCoordinator(CoordinatorOptions options, std::unique_ptr<Catalogue> catalogue) {
  metrics = std::make_unique<CoordinatorMetrics>(*registry);
  absl::StatusOr<std::unique_ptr<Coordinator>> c =
      Coordinator::Start(options, std::move(catalogue), *metrics, clock);
  EXPECT_TRUE(c.ok()) << c.status();
  if (c.ok()) coordinator = *std::move(c);
}

TestCoordinator::~TestCoordinator() {
  if (coordinator != nullptr) coordinator->Shutdown();
}

std::string TestCoordinator::client_address() const {
  return "127.0.0.1:" + std::to_string(coordinator->client_port());
}

std::string TestCoordinator::cluster_address() const {
  return "127.0.0.1:" + std::to_string(coordinator->cluster_port());
}

std::shared_ptr<grpc::Channel> TestCoordinator::cluster_channel() const {
  return grpc::CreateChannel(cluster_address(), grpc::InsecureChannelCredentials());
}

std::unique_ptr<pb::ChatService::Stub> TestCoordinator::ChatStub() const {
  return pb::ChatService::NewStub(
      grpc::CreateChannel(client_address(), grpc::InsecureChannelCredentials()));
}

std::unique_ptr<FakeWorker> TestCoordinator::AddReadyGroup(const std::string& model,
                                                           const std::string& dir,
                                                           const std::string& group,
                                                           const FakeLeader& leader,
                                                           int max_sequences) {
  auto worker =
      std::make_unique<FakeWorker>(cluster_channel(), "w-" + model + "-" + group, leader.address());
  const grpc::Status s = worker->Register(MakeAssignment(model, dir, group));
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(worker->Heartbeat(cpb::WORKER_STATE_READY, 0, 0, max_sequences));
  return worker;
}

std::string ChatResult::Content() const {
  std::string out;
  for (const auto& r : responses) out += r.delta().content();
  return out;
}

std::string ChatResult::Reasoning() const {
  std::string out;
  for (const auto& r : responses) out += r.delta().reasoning();
  return out;
}

std::vector<pb::ToolCall> ChatResult::ToolCalls() const {
  std::vector<pb::ToolCall> out;
  for (const auto& r : responses) {
    for (const auto& c : r.delta().tool_calls()) out.push_back(c);
  }
  return out;
}

std::vector<int32_t> ChatResult::TokenIds() const {
  std::vector<int32_t> out;
  for (const auto& r : responses) {
    for (int32_t id : r.delta().token_ids()) out.push_back(id);
  }
  return out;
}

pb::Done ChatResult::done() const {
  for (const auto& r : responses) {
    if (r.has_done()) return r.done();
  }
  return pb::Done();
}

int ChatResult::dones() const {
  int n = 0;
  for (const auto& r : responses) n += r.has_done() ? 1 : 0;
  return n;
}

ChatResult RunChat(pb::ChatService::Stub& stub, const pb::ChatRequest& request,
                   absl::Duration timeout, const std::string& bearer_token) {
  ChatResult result;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!bearer_token.empty()) context.AddMetadata("authorization", "Bearer " + bearer_token);
  std::unique_ptr<grpc::ClientReader<pb::ChatResponse>> reader = stub.Chat(&context, request);
  pb::ChatResponse response;
  while (reader->Read(&response)) result.responses.push_back(response);
  result.status = reader->Finish();
  return result;
}

pb::ChatRequest SimpleRequest(const std::string& model, const std::string& text) {
  pb::ChatRequest request;
  request.set_model(model);
  pb::Message* m = request.add_messages();
  m->set_role("user");
  m->add_content()->set_text(text);
  request.set_max_tokens(16);
  request.set_enable_thinking(false);
  return request;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace tpserve::coordinator::testing
