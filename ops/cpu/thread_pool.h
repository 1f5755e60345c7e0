// A fixed pool of worker threads for the CPU backend's parallel loops.
//
//   pool.ParallelFor(n, [&](int64_t begin, int64_t end) { ... });
//
// The calling thread takes part in the work, so a pool of N threads runs on N - 1 workers plus the
// caller. ParallelFor blocks until every range is done. One ParallelFor at a time (the backend is
// used by one thread); nested calls run serially on the calling thread.
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
  uint64_t generation_ = 0;  // bumped per ParallelFor, guarded by mu_
  bool stop_ = false;
  int pending_ = 0;          // workers still running the current job, guarded by mu_

  // The current job (valid while pending_ > 0).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_parts_ = 0;
  std::atomic<bool> in_parallel_{false};
};

}  // namespace tpserve::ops::cpu

#endif  // TPSERVE_OPS_CPU_THREAD_POOL_H_
