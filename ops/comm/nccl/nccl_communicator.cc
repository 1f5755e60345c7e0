#include "ops/comm/nccl/nccl_communicator.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace tpserve::comm {
namespace {

absl::Status CudaError(const char* what, cudaError_t e) {
  return absl::InternalError(absl::StrCat(what, " failed: ", cudaGetErrorString(e)));
}
absl::Status NcclError(const char* what, ncclResult_t r) {
  return absl::UnavailableError(absl::StrCat(what, " failed: ", ncclGetErrorString(r)));
}

#define TPS_CUDA_RETURN_IF_ERROR(call)                                                       \
  do {                                                                                       \
    if (cudaError_t tps_e_ = (call); tps_e_ != cudaSuccess) return CudaError(#call, tps_e_); \
  } while (false)
#define TPS_NCCL_RETURN_IF_ERROR(call)                                                        \
  do {                                                                                        \
    if (ncclResult_t tps_r_ = (call); tps_r_ != ncclSuccess) return NcclError(#call, tps_r_); \
  } while (false)

std::optional<ncclDataType_t> NcclType(DType d) {
  switch (d) {
    case DType::kF32:
      return ncclFloat32;
    case DType::kF16:
      return ncclFloat16;
    case DType::kBF16:
      return ncclBfloat16;
    case DType::kI32:
      return ncclInt32;
    case DType::kI64:
      return ncclInt64;
    case DType::kU8:
      return ncclUint8;
  }
  return std::nullopt;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, int rank, int world, const NcclOptions& options, float* scratch)
      : comm_(comm),
        rank_(rank),
        world_(world),
        stream_(static_cast<cudaStream_t>(options.stream)),
        timeout_(options.collective_timeout),
        device_(options.device_index),
        scratch_(scratch) {}

  ~NcclCommunicator() override {
    if (comm_ != nullptr) {
      if (broken_.ok()) {
        ncclCommDestroy(comm_);
      } else {
        ncclCommAbort(comm_);
      }
    }
    if (scratch_ != nullptr) cudaFree(scratch_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string_view name() const override { return "nccl"; }
  uint64_t sequence_number() const override { return seq_.load(); }

  absl::Status AllReduce(ops::TensorView inout, ReduceOp op, const CollectiveOptions& o) override {
    std::optional<ncclDataType_t> t = NcclType(inout.dtype);
    if (!t || !inout.is_contiguous()) {
      return absl::InvalidArgumentError(
          absl::StrCat("nccl AllReduce: unsupported tensor ", ops::DescribeView(inout)));
    }
    return Run("all_reduce", o, [&] {
      return ncclAllReduce(inout.data, inout.data, static_cast<size_t>(inout.num_elements()), *t,
                           op == ReduceOp::kSum ? ncclSum : ncclMax, comm_, stream_);
    });
  }

  absl::Status AllGather(ops::ConstTensorView in, ops::TensorView out,
                         const CollectiveOptions& o) override {
    std::optional<ncclDataType_t> t = NcclType(in.dtype);
    if (!t || in.dtype != out.dtype || !in.is_contiguous() || !out.is_contiguous() ||
        out.num_elements() != in.num_elements() * world_) {
      return absl::InvalidArgumentError(absl::StrCat("nccl AllGather: in ", ops::DescribeView(in),
                                                     " out ", ops::DescribeView(out)));
    }
    return Run("all_gather", o, [&] {
      return ncclAllGather(in.data, out.data, static_cast<size_t>(in.num_elements()), *t, comm_,
                           stream_);
    });
  }

  absl::Status Broadcast(ops::TensorView inout, int root, const CollectiveOptions& o) override {
    if (!inout.is_contiguous() || root < 0 || root >= world_) {
      return absl::InvalidArgumentError(
          absl::StrCat("nccl Broadcast: root ", root, " tensor ", ops::DescribeView(inout)));
    }
    const size_t bytes = static_cast<size_t>(inout.num_elements()) * inout.element_size();
    return Run("broadcast", o, [&] {
      return ncclBroadcast(inout.data, inout.data, bytes, ncclUint8, root, comm_, stream_);
    });
  }

  absl::Status Barrier(const CollectiveOptions& o) override {
    return Run("barrier", o, [&] {
      return ncclAllReduce(scratch_, scratch_, 1, ncclFloat32, ncclSum, comm_, stream_);
    });
  }

  void Abort(const absl::Status& reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) return;
    broken_ = reason;
    ncclCommAbort(comm_);
    comm_ = nullptr;
  }

 private:
  template <typename Fn>
  absl::Status Run(const char* op, const CollectiveOptions& o, Fn&& enqueue) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) return broken_;
    const uint64_t seq = seq_.fetch_add(1);
    auto fail = [&](absl::Status s) {
      broken_ = absl::Status(s.code(), absl::StrCat("nccl ", op, " #", seq, " on rank ", rank_,
                                                    " of ", world_, ": ", s.message()));
      ncclCommAbort(comm_);
      comm_ = nullptr;
      return broken_;
    };
    TPS_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    if (ncclResult_t r = enqueue(); r != ncclSuccess) return fail(NcclError(op, r));
    // Wait with a deadline: a peer that died leaves the kernel spinning forever otherwise.
    const absl::Duration timeout = o.timeout > absl::ZeroDuration() ? o.timeout : timeout_;
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      const cudaError_t q = cudaStreamQuery(stream_);
      if (q == cudaSuccess) return absl::OkStatus();
      if (q != cudaErrorNotReady) return fail(CudaError("cudaStreamQuery", q));
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess) return fail(NcclError("async", async));
      if (absl::Now() > deadline) {
        return fail(absl::DeadlineExceededError(
            absl::StrCat("timed out after ", absl::FormatDuration(timeout), " (a peer died?)")));
      }
      absl::SleepFor(absl::Microseconds(20));
    }
  }

  ncclComm_t comm_;
  const int rank_;
  const int world_;
  cudaStream_t stream_;
  const absl::Duration timeout_;
  const int device_;
  float* scratch_;
  std::atomic<uint64_t> seq_{0};
  std::mutex mu_;
  absl::Status broken_;
};

}  // namespace

int CudaDeviceCount() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;  // no driver counts as no GPU
  return n;
}

absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(Store& store, int rank,
                                                                     int world_size,
                                                                     const NcclOptions& options) {
  if (world_size <= 0 || rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("nccl: rank ", rank, " is outside [0, world_size ", world_size, ")"));
  }
  if (CudaDeviceCount() == 0) {
    return absl::FailedPreconditionError("nccl: no CUDA device (or no driver) on this host");
  }
  TPS_CUDA_RETURN_IF_ERROR(cudaSetDevice(options.device_index));
  ncclUniqueId id;
  if (rank == 0) {
    TPS_NCCL_RETURN_IF_ERROR(ncclGetUniqueId(&id));
    if (absl::Status s =
            store.Set("nccl_unique_id", std::string_view(id.internal, sizeof(id.internal)));
        !s.ok()) {
      return s;
    }
  } else {
    absl::StatusOr<std::string> v = store.Wait("nccl_unique_id", options.connect_timeout);
    if (!v.ok()) return v.status();
    if (v->size() != sizeof(id.internal)) {
      return absl::InvalidArgumentError(absl::StrCat("nccl: unique id in the store has ", v->size(),
                                                     " bytes, expected ", sizeof(id.internal)));
    }
    std::copy(v->begin(), v->end(), id.internal);
  }
  ncclComm_t comm = nullptr;
  TPS_NCCL_RETURN_IF_ERROR(ncclCommInitRank(&comm, world_size, id, rank));
  void* scratch_mem = nullptr;
  if (cudaError_t e = cudaMalloc(&scratch_mem, sizeof(float)); e != cudaSuccess) {
    ncclCommDestroy(comm);
    return CudaError("cudaMalloc", e);
  }
  return std::unique_ptr<Communicator>(
      new NcclCommunicator(comm, rank, world_size, options, static_cast<float*>(scratch_mem)));
}

}  // namespace tpserve::comm
