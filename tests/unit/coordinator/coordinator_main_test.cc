// The tpserve-coordinator binary: flags, the listening line, the port file, SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "coordinator/coordinator_flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ops/base/subprocess.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

TEST(CoordinatorFlagsTest, ParsesEveryFlagOfTheContract) {
  ASSERT_OK_AND_ASSIGN(CoordinatorFlags f, ParseCoordinatorFlags({"--listen",
                                                                  "1.2.3.4:1",
                                                                  "--cluster-listen=5.6.7.8:2",
                                                                  "--metrics-listen",
                                                                  ":3",
                                                                  "--catalogue",
                                                                  "c.json",
                                                                  "--tls-cert",
                                                                  "a",
                                                                  "--tls-key",
                                                                  "b",
                                                                  "--cluster-tls-cert",
                                                                  "c",
                                                                  "--cluster-tls-key",
                                                                  "d",
                                                                  "--cluster-tls-ca",
                                                                  "e",
                                                                  "--api-token-file",
                                                                  "t",
                                                                  "--join-token-file",
                                                                  "j",
                                                                  "--heartbeat-interval-ms",
                                                                  "250",
                                                                  "--max-queue",
                                                                  "7",
                                                                  "--port-file",
                                                                  "p.json"}));
  EXPECT_EQ(f.listen, "1.2.3.4:1");
  EXPECT_EQ(f.cluster_listen, "5.6.7.8:2");
  EXPECT_EQ(f.metrics_listen, ":3");
  EXPECT_EQ(f.catalogue, "c.json");
  EXPECT_EQ(f.cluster_tls_key, "d");
  EXPECT_EQ(f.cluster_tls_ca, "e");
  EXPECT_EQ(f.api_token_file, "t");
  EXPECT_EQ(f.join_token_file, "j");
  EXPECT_EQ(f.heartbeat_interval_ms, 250);
  EXPECT_EQ(f.max_queue, 7);
  EXPECT_EQ(f.port_file, "p.json");
  ASSERT_OK_AND_ASSIGN(CoordinatorFlags d, ParseCoordinatorFlags({}));
  EXPECT_EQ(d.listen, "0.0.0.0:50051");
  EXPECT_EQ(d.cluster_listen, "0.0.0.0:50052");
  EXPECT_EQ(d.metrics_listen, "0.0.0.0:9090");
  EXPECT_EQ(d.heartbeat_interval_ms, 1000);
  EXPECT_EQ(d.max_queue, 64);
}

TEST(CoordinatorFlagsTest, ErrorsNameTheFlag) {
  EXPECT_THAT(ParseCoordinatorFlags({"--lisen", "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag --lisen")));
  EXPECT_THAT(ParseCoordinatorFlags({"--max-queue", "many"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-queue")));
  EXPECT_THAT(ParseCoordinatorFlags({"--listen"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--listen: missing value")));
  EXPECT_THAT(ParseCoordinatorFlags({"--tls-cert", "a"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--tls-key")));
  EXPECT_THAT(ParseCoordinatorFlags({"--heartbeat-interval-ms", "0"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseCoordinatorFlags({"--heartbeat-interval-ms", "0"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--heartbeat-interval-ms: must be an integer in [1, 3600000], "
                                 "got '0'")));
  EXPECT_THAT(ParseCoordinatorFlags({"--max-queue", "-1"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--max-queue: must be")));
  EXPECT_THAT(ParseCoordinatorFlags({"--cluster-tls-key", "k"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--cluster-tls-cert and --cluster-tls-key go together")));
  EXPECT_THAT(ParseCoordinatorFlags({"--cluster-listen", "5.6.7.8"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--cluster-listen: must be HOST:PORT")));
  ASSERT_OK_AND_ASSIGN(CoordinatorFlags help, ParseCoordinatorFlags({"--help"}));
  EXPECT_TRUE(help.help);
  for (const char* flag : {"--listen HOST:PORT", "--cluster-tls-ca FILE", "--max-queue N",
                           "(default 0.0.0.0:50051)", "(default 64;", "in [0, 1048576])"}) {
    EXPECT_THAT(CoordinatorUsage(), HasSubstr(flag));
  }
  EXPECT_EQ(HostOf("0.0.0.0:50051"), "0.0.0.0");
  EXPECT_EQ(HostOf("[::1]:5"), "[::1]");
}

struct Child {
  explicit Child(Subprocess p) : process(std::move(p)) {}
  Subprocess process;
  FILE* out = nullptr;  // its stdout

  ~Child() {
    if (out != nullptr) fclose(out);
  }
};

std::unique_ptr<Child> Spawn(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {TPS_COORDINATOR_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<Subprocess> p = Subprocess::Exec(argv, {.out = Redirect::Pipe()});
  if (!p.ok()) return nullptr;
  auto c = std::make_unique<Child>(std::move(*p));
  c->out = fdopen(dup(c->process.stdout_fd()), "r");
  return c;
}

int Wait(Child& c) {
  c.process.Wait();
  return c.process.exit_code().value_or(-1);
}

TEST(CoordinatorMainTest, ListensWritesThePortFileAndStopsOnSigterm) {
  const std::string dir = ::tpserve::testing::MakeTempDir();
  const std::string port_file = dir + "/ports.json";
  std::ofstream(dir + "/api-token") << "tok\n";
  std::unique_ptr<Child> c =
      Spawn({"--listen", "127.0.0.1:0", "--cluster-listen", "127.0.0.1:0", "--metrics-listen",
             "127.0.0.1:0", "--port-file", port_file, "--api-token-file", dir + "/api-token",
             "--heartbeat-interval-ms", "500"});
  ASSERT_NE(c, nullptr);
  char line[512] = {0};
  ASSERT_NE(fgets(line, sizeof(line), c->out), nullptr);
  int client = 0, cluster = 0, metrics = 0;
  ASSERT_EQ(std::sscanf(line,
                        "tpserve-coordinator listening: client=127.0.0.1:%d cluster=127.0.0.1:%d "
                        "metrics=127.0.0.1:%d",
                        &client, &cluster, &metrics),
            3)
      << line;
  ASSERT_TRUE(testing::WaitFor([&] { return std::ifstream(port_file).good(); }));
  std::ifstream in(port_file);
  const nlohmann::json ports = nlohmann::json::parse(in, nullptr, false);
  EXPECT_EQ(ports["client"], client);
  EXPECT_EQ(ports["cluster"], cluster);
  EXPECT_EQ(ports["metrics"], metrics);

  auto stub = pb::ChatService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(client),
                                                           grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer tok");
  pb::ListModelsResponse models;
  EXPECT_TRUE(stub->ListModels(&context, pb::ListModelsRequest(), &models).ok());

  c->process.Signal(SIGTERM);
  EXPECT_EQ(Wait(*c), 0);
}

TEST(CoordinatorMainTest, BadFlagsExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--max-queue", "lots"},
        {"--api-token-file", "/nonexistent/token"},
        {"--cluster-tls-ca", "/nonexistent/ca.pem"},
        {"--cluster-tls-cert", "/nonexistent/c.pem", "--cluster-tls-key", "/nonexistent/k.pem"}}) {
    std::unique_ptr<Child> c = Spawn(args);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(Wait(*c), 2) << args[0];
  }
}

}  // namespace
}  // namespace tpserve::coordinator
