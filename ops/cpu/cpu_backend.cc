#include "ops/cpu/cpu_backend.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "ops/base/cpu_features.h"
#include "ops/cpu/kernels/kernels.h"
#include "ops/cpu/thread_pool.h"

namespace tpserve::ops {
namespace {

constexpr size_t kAlignment = 64;

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int num_threads) : pool_(num_threads) {}

  DeviceKind kind() const override { return DeviceKind::kCpu; }
  std::string_view name() const override { return "cpu"; }
  bool host_accessible() const override { return true; }

  DeviceInfo info() const override {
    const CpuFeatures& f = GetCpuFeatures();
    DeviceInfo d;
    d.kind = DeviceKind::kCpu;
    d.num_threads = pool_.num_threads();
    d.description = absl::StrCat("cpu: ", pool_.num_threads(), " threads, ", CpuIsaName(f.best_isa),
                                 f.avx512_bf16 ? " (bf16)" : "", f.avx512_vnni ? " (vnni)" : "");
    const long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
      d.total_memory_bytes = static_cast<size_t>(pages) * static_cast<size_t>(page);
    if (avail > 0 && page > 0)
      d.free_memory_bytes = static_cast<size_t>(avail) * static_cast<size_t>(page);
    return d;
  }

  absl::StatusOr<DeviceBuffer> Allocate(size_t bytes, BufferUsage /*usage*/) override {
    const size_t rounded = (std::max<size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (p == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat("cpu: cannot allocate ", bytes, " bytes"));
    }
    return DeviceBuffer(p, bytes, [](void* q) { std::free(q); });
  }

  absl::Status Upload(absl::Span<const std::byte> src, TensorView dst) override {
    const size_t bytes = static_cast<size_t>(dst.num_elements()) * dst.element_size();
    if (!dst.is_contiguous() || src.size() != bytes) {
      return absl::InvalidArgumentError(absl::StrCat("Upload: ", src.size(), " bytes into ",
                                                     DescribeView(dst), " (", bytes, " bytes)"));
    }
    std::memcpy(dst.data, src.data(), bytes);
    return absl::OkStatus();
  }

  absl::Status Download(ConstTensorView src, absl::Span<std::byte> dst) override {
    const size_t bytes = static_cast<size_t>(src.num_elements()) * src.element_size();
    if (!src.is_contiguous() || dst.size() != bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("Download: ", DescribeView(src), " into ", dst.size(), " bytes"));
    }
    std::memcpy(dst.data(), src.data, bytes);
    return absl::OkStatus();
  }

  absl::Status Fill(TensorView dst, float value) override {
    if (dst.dtype != DType::kF32 || !dst.is_contiguous()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Fill: needs a contiguous f32 view, got ", DescribeView(dst)));
    }
    float* p = dst.As<float>();
    const int64_t n = dst.num_elements();
    for (int64_t i = 0; i < n; ++i) p[i] = value;
    return absl::OkStatus();
  }

  absl::Status Synchronize() override { return absl::OkStatus(); }

  bool Supports(OpKind op, DType dtype) const override {
    switch (op) {
      case OpKind::kMatMul:
      case OpKind::kEmbedding:
        return dtype == DType::kF32 || dtype == DType::kBF16 || dtype == DType::kF16;
      case OpKind::kStoreKv:
      case OpKind::kAttention:
      case OpKind::kRmsNorm:
      case OpKind::kGatedRmsNorm:
      case OpKind::kLayerNorm:
      case OpKind::kCausalConv1d:
        return dtype == DType::kF32 || dtype == DType::kBF16;
      default:
        return dtype == DType::kF32;
    }
  }

  absl::Status MatMul(const MatMulArgs& a) override { return cpu::MatMul(pool_, a); }
  absl::Status Embedding(const EmbeddingArgs& a) override { return cpu::Embedding(pool_, a); }
  absl::Status RmsNorm(const RmsNormArgs& a) override { return cpu::RmsNorm(pool_, a); }
  absl::Status L2Norm(const L2NormArgs& a) override { return cpu::L2Norm(pool_, a); }
  absl::Status GatedRmsNorm(const GatedRmsNormArgs& a) override {
    return cpu::GatedRmsNorm(pool_, a);
  }
  absl::Status Rope(const RopeArgs& a) override { return cpu::Rope(pool_, a); }
  absl::Status StoreKv(const StoreKvArgs& a) override { return cpu::StoreKv(pool_, a); }
  absl::Status Attention(const AttentionArgs& a) override { return cpu::Attention(pool_, a); }
  absl::Status CausalConv1d(const CausalConv1dArgs& a) override {
    return cpu::CausalConv1d(pool_, a);
  }
  absl::Status DeltaNetGates(const DeltaNetGatesArgs& a) override {
    return cpu::DeltaNetGates(pool_, a);
  }
  absl::Status GatedDeltaNet(const GatedDeltaNetArgs& a) override {
    return cpu::GatedDeltaNet(pool_, a);
  }
  absl::Status SiluMul(const SiluMulArgs& a) override { return cpu::SiluMul(pool_, a); }
  absl::Status SigmoidMul(const SigmoidMulArgs& a) override { return cpu::SigmoidMul(pool_, a); }
  absl::Status Add(const AddArgs& a) override { return cpu::Add(pool_, a); }
  absl::Status Softmax(const SoftmaxArgs& a) override { return cpu::Softmax(pool_, a); }
  absl::Status LayerNorm(const LayerNormArgs& a) override { return cpu::LayerNorm(pool_, a); }
  absl::Status Gelu(const GeluArgs& a) override { return cpu::Gelu(pool_, a); }
  absl::Status Rope2d(const Rope2dArgs& a) override { return cpu::Rope2d(pool_, a); }
  absl::Status SegmentAttention(const SegmentAttentionArgs& a) override {
    return cpu::SegmentAttention(pool_, a);
  }

 private:
  cpu::ThreadPool pool_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> CreateCpuBackend(const CpuBackendOptions& options) {
  int threads = options.num_threads;
  if (threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cpu backend: num_threads must be >= 0 (0 = all cores), got ", threads));
  }
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::unique_ptr<Backend>(new CpuBackend(threads));
}

}  // namespace tpserve::ops
