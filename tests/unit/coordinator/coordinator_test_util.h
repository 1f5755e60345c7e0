// Shared pieces of the coordinator tests: model directories made on the fly (config.json of the
// "tiny" preset, the Qwen3.5-style test tokenizer, generation_config.json), a fake group leader
// serving Leader.Generate with scripted token ids, fake workers that register and heartbeat
// through the real cluster service, and a coordinator on loopback ports with a fake clock.
#ifndef TPSERVE_TESTS_UNIT_COORDINATOR_COORDINATOR_TEST_UTIL_H_
#define TPSERVE_TESTS_UNIT_COORDINATOR_COORDINATOR_TEST_UTIL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/tokenizer/tokenizer.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/registry.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"
#include "tpserve/v1/chat.grpc.pb.h"

namespace tpserve::coordinator::testing {

struct ModelDirOptions {
  std::string preset = "tiny";  // model::Qwen35Preset name ("0.8b", "2b", ... for tier tests)
  bool vision = true;
  int64_t max_position_embeddings = 4096;
  bool random_weights = false;
  bool qwen36_template = false;  // write a chat_template.jinja that mentions preserve_thinking
};

// A fresh directory with config.json, tokenizer.json and generation_config.json (no weights:
// the coordinator never reads them).
std::string MakeModelDir(const ModelDirOptions& options = {});
// The Qwen3.5-style test tokenizer (real special ids 248044..248076, a 6000-id BPE vocabulary).
const tokenizer::Tokenizer& TestTokenizer();
std::string TestTokenizerPath();
// The ids of `text` under the test tokenizer (added tokens written in it become their ids).
std::vector<int32_t> Ids(const std::string& text);

// What the fake leader does with one Generate call.
struct LeaderScript {
  enum class End {
    kOk,     // finish OK after the responses
    kFail,   // finish with `fail_status` after the responses
    kStall,  // keep the stream open until the client cancels it
  };
  std::vector<tpserve::cluster::v1::GenerateResponse> responses;
  End end = End::kOk;
  grpc::Status fail_status{grpc::StatusCode::UNAVAILABLE, "rank 1 is gone"};
};

// Responses carrying `ids` `per_message` at a time; the last has done: true and `finish`.
std::vector<tpserve::cluster::v1::GenerateResponse> TokenResponses(
    const std::vector<int32_t>& ids, int per_message = 1,
    tpserve::cluster::v1::GenerateResponse::Finish finish =
        tpserve::cluster::v1::GenerateResponse::FINISH_STOP_TOKEN,
    bool done = true);

// A Leader service on 127.0.0.1:0.
class FakeLeader {
 public:
  using ScriptFn = std::function<LeaderScript(const tpserve::cluster::v1::GenerateRequest&)>;
  explicit FakeLeader(ScriptFn script);
  ~FakeLeader();

  std::string address() const { return address_; }
  int calls() const { return calls_.load(); }
  int cancellations() const { return cancellations_.load(); }
  int open_streams() const { return open_.load(); }
  std::vector<tpserve::cluster::v1::GenerateRequest> requests() const;
  // The deadline of each call, as the leader saw it.
  std::vector<std::chrono::system_clock::time_point> deadlines() const;
  // Stops serving (the next calls fail UNAVAILABLE); open streams are cancelled.
  void Stop();

  class Service;

 private:
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::atomic<int> calls_{0};
  std::atomic<int> cancellations_{0};
  std::atomic<int> open_{0};
  mutable absl::Mutex mu_;
  std::vector<tpserve::cluster::v1::GenerateRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::chrono::system_clock::time_point> deadlines_ ABSL_GUARDED_BY(mu_);
  ScriptFn script_;
  friend class Service;
};

// A worker as seen by the coordinator: Register and Heartbeat over the cluster API.
class FakeWorker {
 public:
  FakeWorker(std::shared_ptr<grpc::Channel> cluster_channel, std::string worker_id,
             std::string address);
  // Registers with an explicit assignment (empty model: ask for placement).
  grpc::Status Register(const tpserve::cluster::v1::Assignment& assignment,
                        const std::string& join_token = "",
                        tpserve::cluster::v1::RegisterResponse* response = nullptr,
                        uint32_t protocol_version = tpserve::cluster::v1::CLUSTER_PROTOCOL_VERSION,
                        const tpserve::cluster::v1::DeviceInfo& device = {});
  // Returns `known`; aborts the test on an RPC error.
  bool Heartbeat(tpserve::cluster::v1::WorkerState state, int running = 0, int waiting = 0,
                 int max_sequences = 4, int max_context = 0);

  const std::string& id() const { return id_; }

 private:
  std::unique_ptr<tpserve::cluster::v1::Coordinator::Stub> stub_;
  std::string id_;
  std::string address_;
};

tpserve::cluster::v1::Assignment MakeAssignment(const std::string& model, const std::string& dir,
                                                const std::string& group, int rank = 0,
                                                int world_size = 1);

// A coordinator on loopback with a fake clock, its own metrics registry, and stubs.
struct TestCoordinator {
  explicit TestCoordinator(CoordinatorOptions options = DefaultOptions(),
                           std::unique_ptr<Catalogue> catalogue = nullptr);
  ~TestCoordinator();
  static CoordinatorOptions DefaultOptions();

  std::string client_address() const;
  std::string cluster_address() const;
  std::shared_ptr<grpc::Channel> cluster_channel() const;
  std::unique_ptr<tpserve::v1::ChatService::Stub> ChatStub() const;

  // Registers a ready single-rank group of `model` served by `leader` and heartbeats it.
  std::unique_ptr<FakeWorker> AddReadyGroup(const std::string& model, const std::string& dir,
                                            const std::string& group, const FakeLeader& leader,
                                            int max_sequences = 4);

  FakeClock clock;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<CoordinatorMetrics> metrics;
  std::unique_ptr<Coordinator> coordinator;
};

// The result of a whole Chat stream.
struct ChatResult {
  std::vector<tpserve::v1::ChatResponse> responses;
  grpc::Status status;

  std::string Content() const;
  std::string Reasoning() const;
  std::vector<tpserve::v1::ToolCall> ToolCalls() const;
  std::vector<int32_t> TokenIds() const;
  // The Done message (a default one when none came); `dones` counts them.
  tpserve::v1::Done done() const;
  int dones() const;
};

ChatResult RunChat(tpserve::v1::ChatService::Stub& stub, const tpserve::v1::ChatRequest& request,
                   absl::Duration timeout = absl::Seconds(10),
                   const std::string& bearer_token = "");

// A user question to `model`, max_tokens 16, thinking off.
tpserve::v1::ChatRequest SimpleRequest(const std::string& model,
                                       const std::string& text = "Hello there");

// Polls `condition` until true or `timeout` (returns its last value).
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(5));

}  // namespace tpserve::coordinator::testing

#endif  // TPSERVE_TESTS_UNIT_COORDINATOR_COORDINATOR_TEST_UTIL_H_
