// Store: the rendezvous key-value store of a tensor-parallel group (c10d's Store). Rank 0 publishes
// what the others need to connect (Gloo addresses, the NCCL unique id); the others wait for it.
// In production the coordinator serves it over gRPC; FileStore (a shared directory) and
// InProcessStore (ranks as threads) serve local groups and tests.
//
// It lives in ops/base (tpserve_base, no device code) because both sides depend on it: the
// coordinator serves it (coordinator/rendezvous_store.h) and ops/comm rendezvous through it.
#ifndef TPSERVE_OPS_BASE_STORE_H_
#define TPSERVE_OPS_BASE_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tpserve::comm {

class Store {
 public:
  virtual ~Store() = default;
  // Sets `key` (overwriting any earlier value).
  virtual absl::Status Set(std::string_view key, std::string_view value) = 0;
  // The value of `key`, waiting up to `timeout` for it to be set (DeadlineExceeded naming the key).
  virtual absl::StatusOr<std::string> Wait(std::string_view key, absl::Duration timeout) = 0;
};

// All ranks in one process (threads as ranks). Thread-safe.
class InProcessStore final : public Store {
 public:
  absl::Status Set(std::string_view key, std::string_view value) override;
  absl::StatusOr<std::string> Wait(std::string_view key, absl::Duration timeout) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string, std::less<>> values_ ABSL_GUARDED_BY(mu_);
};

// Ranks on one host (or a shared filesystem): one file per key in `dir`, written atomically
// (temporary file + rename). Keys may contain '/', which is escaped.
class FileStore final : public Store {
 public:
  explicit FileStore(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Set(std::string_view key, std::string_view value) override;
  absl::StatusOr<std::string> Wait(std::string_view key, absl::Duration timeout) override;
  const std::string& dir() const { return dir_; }

 private:
  std::string PathOf(std::string_view key) const;
  std::string dir_;
};

// Every key prefixed with "<prefix>/" (one store, many groups or epochs).
class PrefixStore final : public Store {
 public:
  PrefixStore(std::string prefix, Store& base) : prefix_(std::move(prefix)), base_(base) {}
  absl::Status Set(std::string_view key, std::string_view value) override;
  absl::StatusOr<std::string> Wait(std::string_view key, absl::Duration timeout) override;

 private:
  std::string prefix_;
  Store& base_;
};

}  // namespace tpserve::comm

#endif  // TPSERVE_OPS_BASE_STORE_H_
