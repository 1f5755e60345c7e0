// A fixed pool of worker threads for the CPU backend's parallel loops.
//
//   pool.ParallelFor(n, [&](int64_t begin, int64_t end) { ... });
//
// The calling thread takes part in the work, so a pool of N threads runs on N - 1 workers plus the
// caller. ParallelFor blocks until every range is done. One ParallelFor at a time (the backend is
// used by one thread); nested calls run serially on the calling thread.
//
// Decode runs hundreds of short parallel loops per token, so waking the workers must be cheap:
// workers and the caller spin briefly (about 50 µs) on atomics before sleeping on a condition
// variable. Idle pools therefore sleep; busy ones hand work over in well under a microsecond.
#ifndef TPSERVE_OPS_CPU_THREAD_POOL_H_
#define TPSERVE_OPS_CPU_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tpserve::ops::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);  // total threads including the caller; ≥ 1
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Splits [0, n) into contiguous ranges of at least `min_grain` items, at most one range per
  // thread, and runs fn(begin, end) on each.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                   int64_t min_grain = 1);

 private:
  void WorkerLoop(int index);

  const int num_threads_;
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) per ParallelFor
  std::atomic<bool> stop_{false};
  std::atomic<int> pending_{0};   // workers that have not finished the current job
  int sleepers_ = 0;              // workers waiting on start_cv_, guarded by mu_
  bool caller_sleeping_ = false;  // guarded by mu_

  // The current job: written before generation_ is bumped, read after; every worker acknowledges
  // every job, so none can read the next job's fields as the current one's.
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_parts_ = 0;
  std::atomic<bool> in_parallel_{false};
};

}  // namespace tpserve::ops::cpu

#endif  // TPSERVE_OPS_CPU_THREAD_POOL_H_
