// Who may call, with real processes: a coordinator and a TP=2 group with TLS on the client API,
// on the coordinator's cluster port and on every worker's Leader port, a bearer token on the
// client API and the cluster's join token on every cluster call.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/service/cluster_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_cert.h"
#include "tests/testing/test_env.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"

namespace tpserve::testing {
namespace {

using ::testing::HasSubstr;

struct Secrets {
  std::string dir, cert, key, api_token, join_token;
};

// A self-signed certificate for 127.0.0.1 and two token files.
const Secrets* MakeSecrets() {
  static const Secrets* secrets = []() -> const Secrets* {
    const TestCert* cert = MakeTestCert();
    if (cert == nullptr) return nullptr;
    auto* s = new Secrets;
    s->dir = MakeTempDir();
    s->cert = cert->cert_path;
    s->key = cert->key_path;
    s->api_token = s->dir + "/api.token";
    s->join_token = s->dir + "/join.token";
    std::ofstream(s->api_token) << "client-secret\n";
    std::ofstream(s->join_token) << "cluster-secret\n";
    return s;
  }();
  return secrets;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

v1::ChatRequest Hello() {
  v1::ChatRequest r;
  r.set_model("tiny");
  v1::Message* m = r.add_messages();
  m->set_role("user");
  m->add_content()->set_text("Say hello.");
  r.set_max_tokens(6);
  r.mutable_sampling()->set_temperature(0.0f);
  r.set_enable_thinking(false);
  return r;
}

grpc::Status CallGenerate(const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
  auto stub = cluster::v1::Leader::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  cluster::v1::GenerateRequest request;
  request.add_prompt_ids(1);
  request.add_prompt_ids(2);
  request.set_max_tokens(2);
  request.set_join_token(token);
  auto reader = stub->Generate(&context, request);
  cluster::v1::GenerateResponse response;
  while (reader->Read(&response)) {
  }
  return reader->Finish();
}

TEST(ClusterSecurityTest, EveryPortIsTlsAndEveryCallerMustPresentItsToken) {
  const Secrets* s = MakeSecrets();
  if (s == nullptr) GTEST_SKIP() << "the openssl command line is not available";
  ClusterOptions options{.tp = 2, .replicas = 1};
  options.coordinator_args = {"--tls-cert",         s->cert,      "--tls-key",         s->key,
                              "--cluster-tls-cert", s->cert,      "--cluster-tls-key", s->key,
                              "--cluster-tls-ca",   s->cert,      "--api-token-file",  s->api_token,
                              "--join-token-file",  s->join_token};
  options.worker_args = {"--cluster-tls-ca",  s->cert, "--cluster-tls-cert", s->cert,
                         "--cluster-tls-key", s->key,  "--join-token-file",  s->join_token};
  options.client_tls_ca = s->cert;
  options.client_token = "client-secret";
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start(options));
  ASSERT_OK(cluster->WaitReady(1));

  // A chat goes through: client → coordinator (TLS + bearer), coordinator → leader (TLS + join
  // token), leader → follower (control channel hello with the join token).
  absl::StatusOr<v1::Done> done = cluster->Client()->Chat(Hello(), [](const v1::Delta&) {});
  ASSERT_OK(done.status());
  EXPECT_EQ(done->usage().completion_tokens(), 6);
  // The client API without the bearer token: refused.
  EXPECT_THAT(cluster->Client("wrong-token")->Chat(Hello(), [](const v1::Delta&) {}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));

  // The leader's own port: plaintext does not get through; TLS without the join token (a
  // process that found the port and trusts the CA) is UNAUTHENTICATED.
  const std::string leader = cluster->worker_address(0, 0);
  EXPECT_EQ(CallGenerate(grpc::CreateChannel(leader, grpc::InsecureChannelCredentials()),
                         "cluster-secret")
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadAll(s->cert);
  auto tls = grpc::CreateChannel(leader, grpc::SslCredentials(ssl));
  const grpc::Status no_token = CallGenerate(tls, "");
  EXPECT_EQ(no_token.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(no_token.error_message(), HasSubstr("join token missing"));
  EXPECT_EQ(CallGenerate(tls, "guess").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(CallGenerate(tls, "cluster-secret").ok());

  // A worker without the join token cannot join: its registration is refused, it exits saying
  // why, and the coordinator never routes to it.
  const ProcessResult intruder = RunBinary(
      "tpserve-worker",
      absl::StrCat("--coordinator ", cluster->cluster_address(), " --model ", TinyModelDir(),
                   " --model-name tiny --group g9 --rank 0 --world-size 1 --cluster-tls-ca ",
                   s->cert),
      60);
  EXPECT_NE(intruder.exit_code, 0);
  EXPECT_NE(intruder.exit_code, 124) << "the worker kept retrying: " << intruder.output;
  EXPECT_THAT(intruder.output, HasSubstr("join token missing")) << intruder.output;
  // The cluster keeps serving.
  EXPECT_OK(cluster->Client()->Chat(Hello(), [](const v1::Delta&) {}).status());
}

}  // namespace
}  // namespace tpserve::testing
