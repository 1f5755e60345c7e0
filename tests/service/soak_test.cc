// Soak: 64 concurrent streams for a while (TPS_SOAK_SECONDS: 20 in the default run, 600 in the
// slow-labelled variant) against a TP=2 replica. Every request ends exactly once; the coordinator's
// and each rank's resident memory grows < 5 % from the warmed-up point to the end; no descriptor
// is leaked; KV blocks and DeltaNet slots return to 0.
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/service/cluster_fixture.h"
#include "tests/testing/status_matchers.h"

#ifndef TPS_SOAK_SECONDS
#define TPS_SOAK_SECONDS 20
#endif

namespace tpserve::testing {
namespace {

// VmRSS of `pid` in kB (0 when unreadable).
int64_t RssKb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kb = 0;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb;
  }
  return 0;
}

int OpenFds(pid_t pid) {
  DIR* d = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 2;  // . and ..
}

v1::ChatRequest Request(int i, int max_tokens) {
  v1::ChatRequest r;
  r.set_model("tiny");
  v1::Message* m = r.add_messages();
  m->set_role("user");
  m->add_content()->set_text(absl::StrCat("soak request ", i, ": say something"));
  r.set_max_tokens(max_tokens);
  // Half greedy, half sampled (the quickstart's settings).
  if (i % 2 == 0) {
    r.mutable_sampling()->set_temperature(0.0f);
  } else {
    r.mutable_sampling()->set_temperature(0.7f);
    r.mutable_sampling()->set_top_p(0.8f);
  }
  r.set_enable_thinking(false);
  return r;
}

struct Process {
  std::string name;
  pid_t pid;
  int64_t rss_warm = 0;
  int fds_warm = 0;
};

TEST(SoakTest, SixtyFourStreamsEndExactlyOnceWithoutGrowthOrLeaks) {
  ASSERT_OK_AND_ASSIGN(auto cluster, Cluster::Start({.tp = 2, .replicas = 1, .max_slots = 16}));
  ASSERT_OK(cluster->WaitReady(1));
  std::vector<Process> procs = {{"coordinator", cluster->coordinator_pid()},
                                {"rank 0", cluster->worker_pid(0, 0)},
                                {"rank 1", cluster->worker_pid(0, 1)}};
  auto channel = grpc::CreateChannel(cluster->client_address(), grpc::InsecureChannelCredentials());
  auto stub = v1::ChatService::NewStub(channel);

  constexpr int kStreams = 64;
  const absl::Duration soak = absl::Seconds(TPS_SOAK_SECONDS);
  std::atomic<bool> warm{false};
  std::atomic<int64_t> requests{0}, ok{0}, bad_endings{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      for (int i = 0; absl::Now() - start < soak; ++i) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        auto reader = stub->Chat(&ctx, Request(s * 100000 + i, 8 + (s * 7 + i) % 24));
        v1::ChatResponse resp;
        int dones = 0;
        while (reader->Read(&resp)) dones += resp.has_done();
        const grpc::Status st = reader->Finish();
        ++requests;
        // Exactly once: a success has one Done; a failure none.
        if (st.ok() ? dones != 1 : dones != 0) ++bad_endings;
        if (st.ok()) ++ok;
      }
    });
  }
  // The warmed-up point: a quarter in (allocator pools, caches and thread stacks settled).
  absl::SleepFor(soak / 4);
  for (Process& p : procs) {
    p.rss_warm = RssKb(p.pid);
    p.fds_warm = OpenFds(p.pid);
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::cout << "soak: " << requests.load() << " requests in " << seconds << " s over " << kStreams
            << " streams, " << ok.load() << " ok\n";
  EXPECT_EQ(bad_endings.load(), 0);
  EXPECT_EQ(ok.load(), requests.load()) << "every request of the soak should succeed";
  EXPECT_GT(requests.load(), kStreams);
  // Give the servers a moment to close the finished calls' resources.
  for (int rank : {0, 1}) {
    bool freed = false;
    for (const absl::Time until = absl::Now() + absl::Seconds(10); !freed && absl::Now() < until;) {
      absl::StatusOr<std::string> m = ScrapeMetrics(cluster->worker_metrics(0, rank));
      if (m.ok()) {
        absl::StatusOr<double> blocks = MetricValue(*m, "tpserve_kv_cache_blocks_in_use");
        absl::StatusOr<double> slots = MetricValue(*m, "tpserve_recurrent_state_slots_in_use");
        freed = blocks.ok() && slots.ok() && *blocks == 0 && *slots == 0;
      }
      if (!freed) absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_TRUE(freed) << "rank " << rank << " kept KV blocks or slots";
  }
  absl::SleepFor(absl::Milliseconds(500));
  for (const Process& p : procs) {
    const int64_t rss = RssKb(p.pid);
    const int fds = OpenFds(p.pid);
    std::cout << p.name << ": RSS " << p.rss_warm << " -> " << rss << " kB, fds " << p.fds_warm
              << " -> " << fds << "\n";
    ASSERT_GT(p.rss_warm, 0) << p.name;
    EXPECT_LT(static_cast<double>(rss), 1.05 * static_cast<double>(p.rss_warm)) << p.name;
    // The warm count had calls in flight; afterwards there may be fewer, never more.
    EXPECT_LE(fds, p.fds_warm) << p.name;
  }
}

}  // namespace
}  // namespace tpserve::testing
