#include "ops/comm/shm/shm_communicator.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <new>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tpserve::comm {
namespace {

constexpr uint64_t kMagic = 0x7470736572766531ull;  // "tpserve1"
constexpr int kMaxRanks = 64;
constexpr size_t kAlign = 4096;

struct alignas(64) RankHeader {
  std::atomic<uint64_t> arrived;  // last round this rank has written its slot for
  std::atomic<int32_t> pid;
};

struct SegmentHeader {
  uint64_t magic;
  uint32_t world;
  uint64_t slot_bytes;
  std::atomic<uint32_t> aborted;
  std::atomic<uint32_t> joined;
  RankHeader ranks[kMaxRanks];
};

static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "shared-memory atomics must be lock-free");

size_t RoundUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// False when `pid` has exited (gone, or a zombie waiting to be reaped).
bool ProcessAlive(int32_t pid) {
  if (pid <= 0) return true;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return true;  // cannot tell: assume alive
  const size_t paren = content.rfind(')');
  return paren == std::string::npos || paren + 2 >= content.size() || content[paren + 2] != 'Z';
}

class ShmCommunicator final : public Communicator {
 public:
  ShmCommunicator(void* base, size_t bytes, int rank, int world, const ShmOptions& options)
      : base_(static_cast<std::byte*>(base)),
        bytes_(bytes),
        header_(reinterpret_cast<SegmentHeader*>(base)),
        rank_(rank),
        world_(world),
        slot_bytes_(header_->slot_bytes),
        timeout_(options.collective_timeout) {}

  ~ShmCommunicator() override { munmap(base_, bytes_); }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string_view name() const override { return "shm"; }
  uint64_t sequence_number() const override { return seq_; }

  absl::Status AllReduce(ops::TensorView inout, ReduceOp op, const CollectiveOptions& o) override {
    if (inout.dtype != DType::kF32 || !inout.is_contiguous()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shm AllReduce: needs a contiguous f32 tensor, got ", ops::DescribeView(inout)));
    }
    const int64_t n = inout.num_elements();
    const int64_t chunk = static_cast<int64_t>(slot_bytes_ / sizeof(float));
    float* data = inout.As<float>();
    return Collective(
        "all_reduce", o, (n + chunk - 1) / chunk, [&](int64_t c, uint64_t round) -> absl::Status {
          const int64_t begin = c * chunk, len = std::min(chunk, n - begin);
          std::memcpy(Slot(rank_, round), data + begin, static_cast<size_t>(len) * sizeof(float));
          if (absl::Status s = Arrive(round); !s.ok()) return s;
          // Every rank sums the slots in rank order, so all ranks get bitwise the same result.
          const float* first = reinterpret_cast<const float*>(Slot(0, round));
          float* out = data + begin;
          std::memcpy(out, first, static_cast<size_t>(len) * sizeof(float));
          for (int r = 1; r < world_; ++r) {
            const float* src = reinterpret_cast<const float*>(Slot(r, round));
            if (op == ReduceOp::kSum) {
              for (int64_t i = 0; i < len; ++i) out[i] += src[i];
            } else {
              for (int64_t i = 0; i < len; ++i) out[i] = out[i] < src[i] ? src[i] : out[i];
            }
          }
          return absl::OkStatus();
        });
  }

  absl::Status AllGather(ops::ConstTensorView in, ops::TensorView out,
                         const CollectiveOptions& o) override {
    const size_t in_bytes = static_cast<size_t>(in.num_elements()) * in.element_size();
    const size_t out_bytes = static_cast<size_t>(out.num_elements()) * out.element_size();
    if (!in.is_contiguous() || !out.is_contiguous() || in.dtype != out.dtype ||
        out_bytes != in_bytes * static_cast<size_t>(world_)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shm AllGather: in ", ops::DescribeView(in), " and out ", ops::DescribeView(out),
          " must be contiguous, same dtype, out = ", world_, " x in"));
    }
    const auto* src = static_cast<const std::byte*>(in.data);
    auto* dst = static_cast<std::byte*>(out.data);
    const int64_t chunks = static_cast<int64_t>((in_bytes + slot_bytes_ - 1) / slot_bytes_);
    return Collective("all_gather", o, chunks, [&](int64_t c, uint64_t round) -> absl::Status {
      const size_t begin = static_cast<size_t>(c) * slot_bytes_;
      const size_t len = std::min(slot_bytes_, in_bytes - begin);
      std::memcpy(Slot(rank_, round), src + begin, len);
      if (absl::Status s = Arrive(round); !s.ok()) return s;
      for (int r = 0; r < world_; ++r) {
        std::memcpy(dst + static_cast<size_t>(r) * in_bytes + begin, Slot(r, round), len);
      }
      return absl::OkStatus();
    });
  }

  absl::Status Broadcast(ops::TensorView inout, int root, const CollectiveOptions& o) override {
    if (!inout.is_contiguous() || root < 0 || root >= world_) {
      return absl::InvalidArgumentError(absl::StrCat("shm Broadcast: root ", root, " of ", world_,
                                                     ", tensor ", ops::DescribeView(inout)));
    }
    const size_t bytes = static_cast<size_t>(inout.num_elements()) * inout.element_size();
    auto* data = static_cast<std::byte*>(inout.data);
    const int64_t chunks = static_cast<int64_t>((bytes + slot_bytes_ - 1) / slot_bytes_);
    return Collective("broadcast", o, chunks, [&](int64_t c, uint64_t round) -> absl::Status {
      const size_t begin = static_cast<size_t>(c) * slot_bytes_;
      const size_t len = std::min(slot_bytes_, bytes - begin);
      if (rank_ == root) std::memcpy(Slot(rank_, round), data + begin, len);
      if (absl::Status s = Arrive(round); !s.ok()) return s;
      if (rank_ != root) std::memcpy(data + begin, Slot(root, round), len);
      return absl::OkStatus();
    });
  }

  absl::Status Barrier(const CollectiveOptions& o) override {
    return Collective("barrier", o, 1, [&](int64_t, uint64_t round) { return Arrive(round); });
  }

  // Thread-safe: only touches the shared flag, which every rank's collectives check.
  void Abort(const absl::Status& /*reason*/) override {
    header_->aborted.store(1, std::memory_order_release);
  }

 private:
  std::byte* Slot(int rank, uint64_t round) const {
    const size_t data_offset = RoundUp(sizeof(SegmentHeader), kAlign);
    return base_ + data_offset + (static_cast<size_t>(rank) * 2 + (round & 1)) * slot_bytes_;
  }

  // One collective of `chunks` rounds; each round is fn(chunk, round).
  template <typename Fn>
  absl::Status Collective(const char* op, const CollectiveOptions& o, int64_t chunks, Fn&& fn) {
    if (!broken_.ok()) return broken_;
    if (header_->aborted.load(std::memory_order_acquire) != 0) {
      broken_ = absl::UnavailableError(absl::StrCat("shm ", op, ": the group was aborted"));
      return broken_;
    }
    const uint64_t seq = seq_++;
    deadline_ = absl::Now() + (o.timeout > absl::ZeroDuration() ? o.timeout : timeout_);
    for (int64_t c = 0; c < std::max<int64_t>(chunks, 1); ++c) {
      if (absl::Status s = fn(c, round_++); !s.ok()) {
        broken_ = absl::Status(s.code(), absl::StrCat("shm ", op, " #", seq, " on rank ", rank_,
                                                      " of ", world_, ": ", s.message()));
        header_->aborted.store(1, std::memory_order_release);
        return broken_;
      }
    }
    return absl::OkStatus();
  }

  // Publishes this rank's slot for `round` and waits until every rank has done the same.
  absl::Status Arrive(uint64_t round) {
    header_->ranks[rank_].arrived.store(round + 1, std::memory_order_release);
    for (int r = 0; r < world_; ++r) {
      int spins = 0;
      absl::Time next_check = absl::InfinitePast();
      while (header_->ranks[r].arrived.load(std::memory_order_acquire) < round + 1) {
        if (++spins < 4000) {
          CpuRelax();
          continue;
        }
        sched_yield();
        if (header_->aborted.load(std::memory_order_acquire) != 0) {
          return absl::UnavailableError("the group was aborted by another rank");
        }
        const absl::Time now = absl::Now();
        if (now < next_check) continue;
        next_check = now + absl::Milliseconds(2);
        const int32_t pid = header_->ranks[r].pid.load(std::memory_order_relaxed);
        if (!ProcessAlive(pid)) {
          return absl::UnavailableError(absl::StrCat("rank ", r, " (pid ", pid, ") is gone"));
        }
        if (now > deadline_) {
          return absl::DeadlineExceededError(absl::StrCat("rank ", r, " did not arrive in time"));
        }
      }
    }
    if (header_->aborted.load(std::memory_order_acquire) != 0) {
      return absl::UnavailableError("the group was aborted by another rank");
    }
    return absl::OkStatus();
  }

  std::byte* base_;
  size_t bytes_;
  SegmentHeader* header_;
  const int rank_;
  const int world_;
  const size_t slot_bytes_;
  const absl::Duration timeout_;
  uint64_t seq_ = 0;
  uint64_t round_ = 0;
  absl::Time deadline_;
  absl::Status broken_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateShmCommunicator(Store& store, int rank,
                                                                    int world_size,
                                                                    const ShmOptions& options) {
  if (world_size <= 0 || world_size > kMaxRanks || rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(absl::StrCat("shm: rank ", rank, " of world_size ",
                                                   world_size, " (at most ", kMaxRanks, " ranks)"));
  }
  const size_t slot = RoundUp(std::max<size_t>(options.slot_bytes, 64), 64);
  const size_t bytes =
      RoundUp(sizeof(SegmentHeader), kAlign) + slot * 2 * static_cast<size_t>(world_size);
  std::string name;
  int fd = -1;
  if (rank == 0) {
    std::random_device rd;
    name = absl::StrCat("/tpserve-", getpid(), "-", rd());
    fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0)
      return absl::UnavailableError(absl::StrCat("shm_open ", name, ": ", std::strerror(errno)));
    if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
      const int err = errno;
      close(fd);
      shm_unlink(name.c_str());
      return absl::ResourceExhaustedError(
          absl::StrCat("shm: cannot size ", name, " to ", bytes, " bytes: ", std::strerror(err)));
    }
  } else {
    absl::StatusOr<std::string> v = store.Wait("shm_segment", options.connect_timeout);
    if (!v.ok()) return v.status();
    name = *v;
    fd = shm_open(name.c_str(), O_RDWR, 0600);
    if (fd < 0)
      return absl::UnavailableError(absl::StrCat("shm_open ", name, ": ", std::strerror(errno)));
  }
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) {
    if (rank == 0) shm_unlink(name.c_str());
    return absl::UnavailableError(absl::StrCat("shm: mmap ", name, ": ", std::strerror(errno)));
  }
  auto* header = static_cast<SegmentHeader*>(base);
  if (rank == 0) {
    new (header) SegmentHeader{};
    header->magic = kMagic;
    header->world = static_cast<uint32_t>(world_size);
    header->slot_bytes = slot;
    std::atomic_thread_fence(std::memory_order_release);
    if (absl::Status s = store.Set("shm_segment", name); !s.ok()) {
      munmap(base, bytes);
      shm_unlink(name.c_str());
      return s;
    }
  } else if (header->magic != kMagic || header->world != static_cast<uint32_t>(world_size) ||
             header->slot_bytes != slot) {
    munmap(base, bytes);
    return absl::InvalidArgumentError(absl::StrCat(
        "shm: segment ", name, " is for ", header->world, " ranks with ", header->slot_bytes,
        "-byte slots, this rank expects ", world_size, " and ", slot));
  }
  header->ranks[rank].pid.store(getpid(), std::memory_order_relaxed);
  header->joined.fetch_add(1, std::memory_order_acq_rel);
  // Everyone has mapped the segment before rank 0 unlinks its name (the mappings stay).
  const absl::Time deadline = absl::Now() + options.connect_timeout;
  while (header->joined.load(std::memory_order_acquire) < static_cast<uint32_t>(world_size)) {
    if (absl::Now() > deadline) {
      munmap(base, bytes);
      if (rank == 0) shm_unlink(name.c_str());
      return absl::DeadlineExceededError(absl::StrCat("shm: only ", header->joined.load(), " of ",
                                                      world_size, " ranks joined ", name));
    }
    absl::SleepFor(absl::Microseconds(200));
  }
  if (rank == 0) shm_unlink(name.c_str());
  return std::unique_ptr<Communicator>(new ShmCommunicator(base, bytes, rank, world_size, options));
}

}  // namespace tpserve::comm
