// The tpserve-worker command line (proto/README.md).
#include "worker/worker_flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace tpserve::worker {
namespace {

using ::testing::HasSubstr;
using tpserve::testing::StatusIs;

TEST(WorkerFlagsTest, TheContractFlagsParse) {
  ASSERT_OK_AND_ASSIGN(ParsedWorkerFlags f, ParseWorkerFlags({"--coordinator",
                                                              "10.0.0.1:50052",
                                                              "--model",
                                                              "/m/qwen",
                                                              "--model-name=q",
                                                              "--group",
                                                              "g1",
                                                              "--rank",
                                                              "1",
                                                              "--world-size",
                                                              "2",
                                                              "--listen",
                                                              "0.0.0.0:7000",
                                                              "--metrics-listen",
                                                              "0.0.0.0:7001",
                                                              "--threads",
                                                              "4",
                                                              "--transport",
                                                              "gloo",
                                                              "--max-slots",
                                                              "16",
                                                              "--max-context",
                                                              "8192",
                                                              "--kv-dtype",
                                                              "bf16",
                                                              "--vision-parallelism",
                                                              "data",
                                                              "--port-file",
                                                              "/tmp/p.json"}));
  const WorkerOptions& o = f.options;
  EXPECT_EQ(o.coordinator, "10.0.0.1:50052");
  EXPECT_EQ(o.model_dir, "/m/qwen");
  EXPECT_EQ(o.model_name, "q");
  EXPECT_TRUE(o.assigned);
  EXPECT_EQ(o.group, "g1");
  EXPECT_EQ(o.layout.tp_rank, 1);
  EXPECT_EQ(o.layout.tp_size, 2);
  EXPECT_EQ(o.listen, "0.0.0.0:7000");
  EXPECT_EQ(f.metrics_listen, "0.0.0.0:7001");
  EXPECT_EQ(o.threads, 4);
  EXPECT_EQ(o.transport, Transport::kGloo);
  EXPECT_EQ(o.model.max_slots, 16);
  EXPECT_EQ(o.model.max_context, 8192);
  EXPECT_EQ(o.model.kv_dtype, DType::kBF16);
  EXPECT_EQ(o.model.vision_parallelism, shard::VisionParallelism::kDataParallel);
  EXPECT_EQ(o.port_file, "/tmp/p.json");
  EXPECT_EQ(o.scheduler.token_budget, 256);
}

TEST(WorkerFlagsTest, WithoutAnAssignmentTheCoordinatorPlaces) {
  ASSERT_OK_AND_ASSIGN(ParsedWorkerFlags f, ParseWorkerFlags({"--coordinator", "c:1"}));
  EXPECT_FALSE(f.options.assigned);
  EXPECT_EQ(f.options.listen, "127.0.0.1:0");
  EXPECT_EQ(f.options.model.vision_parallelism, shard::VisionParallelism::kAuto);
}

TEST(WorkerFlagsTest, MistakesAreNamed) {
  EXPECT_THAT(ParseWorkerFlags({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--coordinator")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--bogus", "1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--bogus")));
  EXPECT_THAT(ParseWorkerFlags(
                  {"--coordinator", "c:1", "--model", "m", "--rank", "2", "--world-size", "2"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--rank")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--transport", "nccl"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--transport")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--cluster-tls-cert", "/etc/hostname"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--cluster-tls-cert and --cluster-tls-key go together")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--cluster-tls-cert", "/nonexistent/c",
                                "--cluster-tls-key", "/nonexistent/k"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--cluster-tls-cert")));
  EXPECT_THAT(
      ParseWorkerFlags({"--coordinator", "c:1", "--vision-parallelism", "pipeline"}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("--vision-parallelism must be auto, tensor or data, got 'pipeline'")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--max-slots", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-slots")));
  EXPECT_THAT(ParseWorkerFlags(
                  {"--coordinator", "c:1", "--max-slots", "32", "--max-tokens-per-step", "16"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-tokens-per-step")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--join-token-file", "/nonexistent/t"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--join-token-file")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("value")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--kv-dtype", "f16"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--kv-dtype must be f32 or bf16, got 'f16'")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--threads", "1025"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--threads: must be an integer in [0, 1024], got '1025'")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--listen", "nowhere"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--listen: must be HOST:PORT with a port in [0, 65535]")));
  EXPECT_THAT(ParseWorkerFlags({"--coordinator", "c:1", "--metrics-listen", "h:65536"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--metrics-listen")));
}

TEST(WorkerFlagsTest, HelpNeedsNoOtherFlag) {
  ASSERT_OK_AND_ASSIGN(ParsedWorkerFlags f, ParseWorkerFlags({"--help"}));
  EXPECT_TRUE(f.help);
  const std::string usage = WorkerUsage();
  for (const char* flag : {"--coordinator HOST:PORT", "--max-context N", "--world-size N",
                           "--join-token-file FILE", "--cluster-tls-key FILE", "--kv-blocks N"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace tpserve::worker
