#include "coordinator/auth.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/cluster_credentials.h"
#include "proto/cluster_token.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_cert.h"
#include "tests/testing/test_env.h"
#include "tests/unit/coordinator/coordinator_test_util.h"

namespace tpserve::coordinator {
namespace {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;
using ::testing::HasSubstr;
using ::tpserve::testing::StatusIs;

TEST(AuthTest, ConstantTimeEquals) {
  using ::tpserve::cluster::ConstantTimeEquals;
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", ""));
}

TEST(AuthTest, TokenFilesAreTrimmedAndMustNotBeEmpty) {
  using ::tpserve::cluster::ReadTokenFile;
  using ::tpserve::cluster::ServerCredentialsFromFiles;
  const std::string dir = ::tpserve::testing::MakeTempDir();
  std::ofstream(dir + "/t") << "  tok-123\n";
  std::ofstream(dir + "/empty") << "\n";
  ASSERT_OK_AND_ASSIGN(std::string token, ReadTokenFile(dir + "/t"));
  EXPECT_EQ(token, "tok-123");
  EXPECT_THAT(ReadTokenFile(dir + "/empty"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ReadTokenFile(dir + "/missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ServerCredentialsFromFiles(dir + "/t", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

grpc::Status ListModels(const std::shared_ptr<grpc::Channel>& channel, const std::string& header) {
  auto stub = pb::ChatService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!header.empty()) context.AddMetadata("authorization", header);
  pb::ListModelsResponse response;
  return stub->ListModels(&context, pb::ListModelsRequest(), &response);
}

TEST(AuthTest, BearerTokenGuardsTheClientApi) {
  CoordinatorOptions options = testing::TestCoordinator::DefaultOptions();
  options.api_token = "client-token-1";
  testing::TestCoordinator tc(options);
  auto channel = grpc::CreateChannel(tc.client_address(), grpc::InsecureChannelCredentials());
  grpc::Status s = ListModels(channel, "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("missing bearer token"));
  s = ListModels(channel, "Bearer client-token-2");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("wrong bearer token"));
  EXPECT_EQ(ListModels(channel, "client-token-1").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ListModels(channel, "Bearer client-token-1").ok());

  const std::string dir = testing::MakeModelDir();
  testing::FakeLeader leader([](const cpb::GenerateRequest&) {
    testing::LeaderScript script;
    script.responses = testing::TokenResponses(testing::Ids("ok<|im_end|>"));
    return script;
  });
  auto worker = tc.AddReadyGroup("m", dir, "g1", leader);
  auto stub = tc.ChatStub();
  testing::ChatResult r = testing::RunChat(*stub, testing::SimpleRequest("m"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  r = testing::RunChat(*stub, testing::SimpleRequest("m"), absl::Seconds(10), "wrong");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(leader.calls(), 0);
  r = testing::RunChat(*stub, testing::SimpleRequest("m"), absl::Seconds(10), "client-token-1");
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.Content(), "ok");
}

// Rotation without a restart: the token file is re-read when it changes; the new token works at
// once, the replaced one for the grace period; a broken rewrite keeps the current token.
TEST(AuthTest, ARotatedTokenFileTakesEffectAndTheOldTokenLastsTheGrace) {
  const std::string dir = ::tpserve::testing::MakeTempDir();
  const std::string path = dir + "/token";
  std::ofstream(path) << "first-token\n";
  FakeClock clock;
  BearerTokenCheck check("first-token",
                         {.path = path, .grace = absl::Seconds(30), .recheck = absl::Seconds(1)},
                         &clock);
  auto call = [&](const std::string& token) {
    std::multimap<grpc::string_ref, grpc::string_ref> md;
    const std::string value = "Bearer " + token;
    md.emplace("authorization", value);
    return check.Check(md);
  };
  EXPECT_OK(call("first-token"));
  EXPECT_THAT(call("second-token"), StatusIs(absl::StatusCode::kUnauthenticated));
  // Rotate (a rename over the file, as secret managers and kubelet do).
  std::ofstream(dir + "/token.new") << "second-token\n";
  ASSERT_EQ(std::rename((dir + "/token.new").c_str(), path.c_str()), 0);
  // Not looked at again before `recheck`.
  EXPECT_THAT(call("second-token"), StatusIs(absl::StatusCode::kUnauthenticated));
  clock.Advance(absl::Seconds(1));
  EXPECT_OK(call("second-token"));
  EXPECT_OK(call("first-token"));  // the grace
  clock.Advance(absl::Seconds(29));
  EXPECT_OK(call("first-token"));
  clock.Advance(absl::Seconds(1));
  EXPECT_THAT(call("first-token"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_OK(call("second-token"));
  // An empty rewrite (a writer caught mid-way) keeps the current token.
  std::ofstream(dir + "/token.new") << "\n";
  ASSERT_EQ(std::rename((dir + "/token.new").c_str(), path.c_str()), 0);
  clock.Advance(absl::Seconds(1));
  EXPECT_OK(call("second-token"));
  EXPECT_TRUE(check.enabled());
}

TEST(AuthTest, TlsOnBothPorts) {
  const ::tpserve::testing::TestCert* cert = ::tpserve::testing::MakeTestCert();
  if (cert == nullptr) GTEST_SKIP() << "the openssl command line is not available";
  CoordinatorOptions options = testing::TestCoordinator::DefaultOptions();
  ASSERT_OK_AND_ASSIGN(options.client_credentials,
                       cluster::ServerCredentialsFromFiles(cert->cert_path, cert->key_path));
  ASSERT_OK_AND_ASSIGN(options.cluster_credentials,
                       cluster::ServerCredentialsFromFiles(cert->cert_path, cert->key_path));
  options.api_token = "tok";
  testing::TestCoordinator tc(options);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = cert->cert_pem;
  const auto tls = grpc::SslCredentials(ssl);
  // Dial the IP and check the certificate's name: no DNS lookup (c-ares leaks a few bytes per
  // lookup, which LeakSanitizer reports).
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto tls_channel = [&](int port) {
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), tls, args);
  };

  // The client API: TLS works (with the token); plaintext does not get through.
  auto secure = tls_channel(tc.coordinator->client_port());
  EXPECT_TRUE(ListModels(secure, "Bearer tok").ok());
  EXPECT_EQ(ListModels(secure, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto plain = grpc::CreateChannel(tc.client_address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(ListModels(plain, "Bearer tok").error_code(), grpc::StatusCode::UNAVAILABLE);

  // The cluster API: a worker registers over TLS; a plaintext one cannot.
  const std::string dir = testing::MakeModelDir();
  testing::FakeWorker secure_worker(tls_channel(tc.coordinator->cluster_port()), "w1",
                                    "127.0.0.1:9");
  EXPECT_TRUE(secure_worker.Register(testing::MakeAssignment("m", dir, "g")).ok());
  testing::FakeWorker plain_worker(
      grpc::CreateChannel(tc.cluster_address(), grpc::InsecureChannelCredentials()), "w2",
      "127.0.0.1:10");
  EXPECT_EQ(plain_worker.Register(testing::MakeAssignment("m", dir, "g2")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace tpserve::coordinator
