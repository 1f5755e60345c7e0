// A real Prometheus server (Debian's `prometheus`) scrapes a running cluster: the coordinator and
// every rank. Checks that every target is up, that the expositions pass `promtool check metrics`,
// and that request and step counters move as requests flow.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/service/cluster_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_env.h"

namespace tpserve::testing {
namespace {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// GET http://127.0.0.1:port/path (a tiny client for the Prometheus HTTP API).
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: localhost\r\n\r\n");
  (void)!write(fd, req.data(), req.size());
  std::string resp;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

// Sum of an instant-vector query's values (NaN-free), or -1 when the query has no result yet.
double Query(int port, const std::string& promql) {
  std::string encoded;
  for (char c : promql) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      encoded += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", static_cast<unsigned char>(c));
      encoded += hex;
    }
  }
  const nlohmann::json j =
      nlohmann::json::parse(HttpGet(port, "/api/v1/query?query=" + encoded), nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return -1;
  const auto& result = j["data"]["result"];
  if (!result.is_array() || result.empty()) return -1;
  double sum = 0;
  for (const auto& r : result) sum += std::stod(r["value"][1].get<std::string>());
  return sum;
}

bool PromtoolAccepts(const std::string& exposition, std::string* output) {
  const std::string path = MakeTempDir() + "/metrics.txt";
  std::ofstream(path) << exposition;
  FILE* p = popen(absl::StrCat("promtool check metrics < ", path, " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output->append(buf, n);
  return pclose(p) == 0;
}

// Every metric name worker/README.md documents (its "## Metrics" section) is a family a rank
// exports: the docs cannot drift from the code (they once said `_total` for a `_capacity` gauge).
TEST(PrometheusScrapeTest, EveryDocumentedWorkerMetricIsInAScrape) {
  std::ifstream in(SourceDir() + "/worker/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const size_t section = readme.find("## Metrics");
  ASSERT_NE(section, std::string::npos) << "worker/README.md has no Metrics section";
  const size_t end = readme.find("\n## ", section + 1);
  const std::string text = readme.substr(section, end == std::string::npos ? end : end - section);
  std::set<std::string> documented;
  // Every `tpserve_<name> written in code quotes ([a-z0-9_] after the prefix). (Not std::regex:
  // GCC 12's libstdc++ regex trips -Wmaybe-uninitialized under the sanitizer flags.)
  for (size_t at = text.find("`tpserve_"); at != std::string::npos;
       at = text.find("`tpserve_", at + 1)) {
    size_t end_of_name = at + 1;
    while (end_of_name < text.size() &&
           (std::islower(static_cast<unsigned char>(text[end_of_name])) ||
            std::isdigit(static_cast<unsigned char>(text[end_of_name])) ||
            text[end_of_name] == '_')) {
      ++end_of_name;
    }
    documented.insert(text.substr(at + 1, end_of_name - at - 1));
  }
  ASSERT_GE(documented.size(), 10u) << text;

  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));
  ASSERT_OK_AND_ASSIGN(const std::string leader, ScrapeMetrics(cluster->worker_metrics(0, 0)));
  ASSERT_OK_AND_ASSIGN(const std::string follower, ScrapeMetrics(cluster->worker_metrics(0, 1)));
  for (const std::string& metric : documented) {
    const std::string family = absl::StrCat("# TYPE ", metric, " ");
    EXPECT_TRUE(absl::StrContains(leader, family)) << metric << " is documented, not exported";
    // The leader-only ones are named as such; every other one is on every rank.
    const bool leader_only = metric == "tpserve_sequences_running" ||
                             metric == "tpserve_sequences_waiting" ||
                             metric == "tpserve_worker_generated_tokens_total";
    if (!leader_only) {
      EXPECT_TRUE(absl::StrContains(follower, family)) << metric << " missing on a follower";
    }
  }
  // Gauges of a capacity are not counters (DESIGN.md: `_total` only on counters).
  for (const std::string& exposition : {leader, follower}) {
    for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
      if (!absl::StartsWith(line, "# TYPE ")) continue;
      const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
      ASSERT_EQ(parts.size(), 4u) << line;
      if (absl::EndsWith(parts[2], "_total")) {
        EXPECT_EQ(parts[3], "counter") << line;
      }
    }
  }
}

TEST(PrometheusScrapeTest, ARealPrometheusScrapesTheClusterAndCountersMove) {
  if (access("/usr/bin/prometheus", X_OK) != 0)
    GTEST_SKIP() << "Debian package prometheus not installed";
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1}));
  ASSERT_OK(cluster->WaitReady(1));

  const std::vector<std::string> targets = {
      cluster->coordinator_metrics(), cluster->worker_metrics(0, 0), cluster->worker_metrics(0, 1)};
  for (const std::string& t : targets) {
    ASSERT_OK_AND_ASSIGN(std::string text, ScrapeMetrics(t));
    std::string out;
    EXPECT_TRUE(PromtoolAccepts(text, &out)) << t << ":\n" << out;
  }

  const std::string dir = MakeTempDir();
  const int port = FreePort();
  {
    std::ofstream cfg(dir + "/prometheus.yml");
    cfg << "global:\n  scrape_interval: 200ms\n  evaluation_interval: 1s\nscrape_configs:\n"
        << "  - job_name: tpserve-coordinator\n    static_configs:\n      - targets: ['"
        << targets[0] << "']\n"
        << "  - job_name: tpserve-worker\n    static_configs:\n      - targets: ['" << targets[1]
        << "', '" << targets[2] << "']\n";
  }
  const std::string log = dir + "/prometheus.log";
  ASSERT_OK_AND_ASSIGN(
      Subprocess prom,
      Subprocess::Exec({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                        "--storage.tsdb.path=" + dir + "/data",
                        absl::StrCat("--web.listen-address=127.0.0.1:", port)},
                       {.out = Redirect::File(log, false), .err = Redirect::File(log, false)}));
  auto stop = [&] { prom.Kill(); };

  // Every target up.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && Query(port, "sum(up)") < 3)
    absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(Query(port, "sum(up)"), 3) << "targets not all up; see " << dir;

  // Traffic moves the counters Prometheus sees.
  auto client = cluster->Client();
  auto chat = [&](int n) {
    for (int i = 0; i < n; ++i) {
      v1::ChatRequest r;
      r.set_model("tiny");
      auto* m = r.add_messages();
      m->set_role("user");
      m->add_content()->set_text(absl::StrCat("ping ", i));
      r.set_max_tokens(5);
      r.set_enable_thinking(false);
      ASSERT_OK(client->Chat(r, [](const v1::Delta&) {}).status());
    }
  };
  chat(3);
  auto wait_for = [&](const std::string& q, double at_least) {
    const absl::Time until = absl::Now() + absl::Seconds(20);
    double v = -1;
    while (absl::Now() < until && (v = Query(port, q)) < at_least)
      absl::SleepFor(absl::Milliseconds(200));
    return v;
  };
  EXPECT_GE(wait_for("sum(tpserve_requests_total)", 3), 3);
  EXPECT_GE(wait_for("sum(tpserve_generation_tokens_total)", 15), 15);
  // Both ranks stepped (followers expose metrics too).
  EXPECT_GE(wait_for("count(tpserve_worker_steps_total > 0)", 2), 2);
  EXPECT_GE(wait_for("sum(tpserve_time_to_first_token_seconds_count)", 3), 3);
  const double steps_before = Query(port, "sum(tpserve_worker_steps_total)");
  chat(2);
  EXPECT_GE(wait_for("sum(tpserve_requests_total)", 5), 5);
  EXPECT_GT(wait_for("sum(tpserve_worker_steps_total)", steps_before + 1), steps_before);
  stop();
}

}  // namespace
}  // namespace tpserve::testing
