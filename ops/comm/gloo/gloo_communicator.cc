#include "ops/comm/gloo/gloo_communicator.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gloo/allgather.h"
#include "gloo/allreduce.h"
#include "gloo/barrier.h"
#include "gloo/broadcast.h"
#include "gloo/math.h"
#include "gloo/rendezvous/context.h"
#include "gloo/rendezvous/store.h"
#include "gloo/transport/tcp/device.h"

namespace tpserve::comm {
namespace {

std::chrono::milliseconds ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// Gloo's Store interface over ours. Gloo reports failures by throwing; so does this adapter, and
// every call into Gloo is wrapped below.
class GlooStoreAdapter final : public gloo::rendezvous::Store {
 public:
  GlooStoreAdapter(comm::Store& store, absl::Duration timeout) : store_(store), timeout_(timeout) {}

  void set(const std::string& key, const std::vector<char>& data) override {
    absl::Status s = store_.Set(key, std::string_view(data.data(), data.size()));
    if (!s.ok()) throw std::runtime_error(std::string(s.message()));
  }
  std::vector<char> get(const std::string& key) override {
    absl::StatusOr<std::string> v = store_.Wait(key, timeout_);
    if (!v.ok()) throw std::runtime_error(std::string(v.status().message()));
    return std::vector<char>(v->begin(), v->end());
  }
  void wait(const std::vector<std::string>& keys) override { wait(keys, ToChrono(timeout_)); }
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override {
    for (const auto& k : keys) {
      absl::StatusOr<std::string> v = store_.Wait(k, absl::Milliseconds(timeout.count()));
      if (!v.ok()) throw std::runtime_error(std::string(v.status().message()));
    }
  }

 private:
  comm::Store& store_;
  absl::Duration timeout_;
};

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(std::shared_ptr<gloo::rendezvous::Context> context, int rank, int world,
                   absl::Duration timeout)
      : context_(std::move(context)), rank_(rank), world_(world), timeout_(timeout) {}

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string_view name() const override { return "gloo"; }
  uint64_t sequence_number() const override { return seq_.load(); }

  absl::Status AllReduce(ops::TensorView inout, ReduceOp op, const CollectiveOptions& o) override {
    if (inout.dtype != DType::kF32 || !inout.is_contiguous()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gloo AllReduce: needs a contiguous f32 tensor, got ", ops::DescribeView(inout)));
    }
    return Run("all_reduce", o, [&](uint32_t tag, std::chrono::milliseconds timeout) {
      gloo::AllreduceOptions opts(context_);
      float* p = inout.As<float>();
      opts.setInput(p, static_cast<size_t>(inout.num_elements()));
      opts.setOutput(p, static_cast<size_t>(inout.num_elements()));
      using Fn = void (*)(void*, const void*, const void*, size_t);
      opts.setReduceFunction(op == ReduceOp::kSum ? static_cast<Fn>(&gloo::sum<float>)
                                                  : static_cast<Fn>(&gloo::max<float>));
      opts.setTag(tag);
      opts.setTimeout(timeout);
      gloo::allreduce(opts);
    });
  }

  absl::Status AllGather(ops::ConstTensorView in, ops::TensorView out,
                         const CollectiveOptions& o) override {
    const size_t in_bytes = static_cast<size_t>(in.num_elements()) * in.element_size();
    const size_t out_bytes = static_cast<size_t>(out.num_elements()) * out.element_size();
    if (!in.is_contiguous() || !out.is_contiguous() || in.dtype != out.dtype ||
        out_bytes != in_bytes * static_cast<size_t>(world_)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gloo AllGather: in ", ops::DescribeView(in), " and out ", ops::DescribeView(out),
          " must be contiguous, same dtype, out = ", world_, " x in"));
    }
    return Run("all_gather", o, [&](uint32_t tag, std::chrono::milliseconds timeout) {
      gloo::AllgatherOptions opts(context_);
      // Gloo's allgather needs a non-const input pointer; it only reads it.
      opts.setInput(static_cast<char*>(const_cast<void*>(in.data)), in_bytes);
      opts.setOutput(static_cast<char*>(out.data), out_bytes);
      opts.setTag(tag);
      opts.setTimeout(timeout);
      gloo::allgather(opts);
    });
  }

  absl::Status Broadcast(ops::TensorView inout, int root, const CollectiveOptions& o) override {
    if (!inout.is_contiguous() || root < 0 || root >= world_) {
      return absl::InvalidArgumentError(absl::StrCat("gloo Broadcast: root ", root, " of ", world_,
                                                     ", tensor ", ops::DescribeView(inout)));
    }
    const size_t bytes = static_cast<size_t>(inout.num_elements()) * inout.element_size();
    return Run("broadcast", o, [&](uint32_t tag, std::chrono::milliseconds timeout) {
      gloo::BroadcastOptions opts(context_);
      if (rank_ == root) opts.setInput(static_cast<char*>(inout.data), bytes);
      opts.setOutput(static_cast<char*>(inout.data), bytes);
      opts.setRoot(root);
      opts.setTag(tag);
      opts.setTimeout(timeout);
      gloo::broadcast(opts);
    });
  }

  absl::Status Barrier(const CollectiveOptions& o) override {
    return Run("barrier", o, [&](uint32_t tag, std::chrono::milliseconds timeout) {
      gloo::BarrierOptions opts(context_);
      opts.setTag(tag);
      opts.setTimeout(timeout);
      gloo::barrier(opts);
    });
  }

  void Abort(const absl::Status& reason) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!broken_.ok()) return;
      broken_ = reason;
    }
    try {
      context_->closeConnections();
    } catch (const std::exception&) {
      // Already broken; nothing more to close.
    }
  }

 private:
  template <typename Fn>
  absl::Status Run(const char* op, const CollectiveOptions& o, Fn&& fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!broken_.ok()) return broken_;
    }
    const uint64_t seq = seq_.fetch_add(1);
    const absl::Duration timeout = o.timeout > absl::ZeroDuration() ? o.timeout : timeout_;
    try {
      fn(static_cast<uint32_t>(seq & 0x7fffffff), ToChrono(timeout));
      return absl::OkStatus();
    } catch (const std::exception& e) {
      absl::Status s = absl::UnavailableError(
          absl::StrCat("gloo ", op, " #", seq, " on rank ", rank_, " of ", world_,
                       " failed (a peer died, timed out after ", absl::FormatDuration(timeout),
                       ", or the group was aborted): ", e.what()));
      std::lock_guard<std::mutex> lock(mu_);
      if (broken_.ok()) broken_ = s;
      return s;
    }
  }

  std::shared_ptr<gloo::rendezvous::Context> context_;
  const int rank_;
  const int world_;
  const absl::Duration timeout_;
  std::atomic<uint64_t> seq_{0};
  std::mutex mu_;
  absl::Status broken_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(Store& store, int rank,
                                                                     int world_size,
                                                                     const GlooOptions& options) {
  if (world_size <= 0 || rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("gloo: rank ", rank, " is outside [0, world_size ", world_size, ")"));
  }
  // Gloo writes to its sockets without MSG_NOSIGNAL: a peer that died must surface as an error
  // from the collective, not as a SIGPIPE that kills this process too.
  static const bool sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = options.hostname;
    attr.ai_family = AF_UNSPEC;
    std::shared_ptr<gloo::transport::Device> device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(rank, world_size);
    context->setTimeout(ToChrono(options.connect_timeout));
    GlooStoreAdapter adapter(store, options.connect_timeout);
    context->connectFullMesh(adapter, device);
    context->setTimeout(ToChrono(options.collective_timeout));
    return std::unique_ptr<Communicator>(
        new GlooCommunicator(std::move(context), rank, world_size, options.collective_timeout));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("gloo: rank ", rank, " of ", world_size,
                                               " could not connect the group: ", e.what()));
  }
}

}  // namespace tpserve::comm
