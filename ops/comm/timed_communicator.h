// TimedCommunicator: wraps a Communicator and accumulates the wall time spent in its collectives
// (for benchmarks and metrics: the share of a step spent communicating, waits for slower ranks
// included). Not owned; same thread-safety as the wrapped communicator.
#ifndef TPSERVE_OPS_COMM_TIMED_COMMUNICATOR_H_
#define TPSERVE_OPS_COMM_TIMED_COMMUNICATOR_H_

#include <atomic>
#include <chrono>

#include "ops/comm/communicator.h"

namespace tpserve::comm {

class TimedCommunicator final : public Communicator {
 public:
  explicit TimedCommunicator(Communicator& inner) : inner_(inner) {}

  int rank() const override { return inner_.rank(); }
  int world_size() const override { return inner_.world_size(); }
  std::string_view name() const override { return inner_.name(); }
  uint64_t sequence_number() const override { return inner_.sequence_number(); }

  absl::Status AllReduce(ops::TensorView inout, ReduceOp op, const CollectiveOptions& o) override {
    return Time([&] { return inner_.AllReduce(inout, op, o); });
  }
  absl::Status AllGather(ops::ConstTensorView in, ops::TensorView out,
                         const CollectiveOptions& o) override {
    return Time([&] { return inner_.AllGather(in, out, o); });
  }
  absl::Status Broadcast(ops::TensorView inout, int root, const CollectiveOptions& o) override {
    return Time([&] { return inner_.Broadcast(inout, root, o); });
  }
  absl::Status Barrier(const CollectiveOptions& o) override {
    return Time([&] { return inner_.Barrier(o); });
  }
  void Abort(const absl::Status& reason) override { inner_.Abort(reason); }

  double seconds() const { return static_cast<double>(nanos_.load()) * 1e-9; }
  uint64_t calls() const { return calls_.load(); }
  void Reset() {
    nanos_ = 0;
    calls_ = 0;
  }

 private:
  template <typename Fn>
  absl::Status Time(Fn&& fn) {
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = fn();
    nanos_ += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - start)
                                        .count());
    ++calls_;
    return s;
  }

  Communicator& inner_;
  std::atomic<uint64_t> nanos_{0};
  std::atomic<uint64_t> calls_{0};
};

}  // namespace tpserve::comm

#endif  // TPSERVE_OPS_COMM_TIMED_COMMUNICATOR_H_
