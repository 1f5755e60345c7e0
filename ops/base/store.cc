#include "ops/base/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

namespace tpserve::comm {

absl::Status InProcessStore::Set(std::string_view key, std::string_view value) {
  absl::MutexLock lock(&mu_);
  values_[std::string(key)] = std::string(value);
  return absl::OkStatus();
}

absl::StatusOr<std::string> InProcessStore::Wait(std::string_view key, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return values_.find(key) != values_.end(); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "store: key '", std::string(key), "' not set within ", absl::FormatDuration(timeout)));
  }
  return values_.find(key)->second;
}

std::string FileStore::PathOf(std::string_view key) const {
  std::string name;
  for (char c : key) {
    if (c == '/') {
      name += "%2F";
    } else if (c == '%') {
      name += "%25";
    } else {
      name += c;
    }
  }
  return dir_ + "/" + name;
}

absl::Status FileStore::Set(std::string_view key, std::string_view value) {
  const std::string path = PathOf(key);
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid(), ".",
                                       std::hash<std::thread::id>{}(std::this_thread::get_id()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(value.data(), static_cast<std::streamsize>(value.size()));
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("store: cannot write ", tmp, ": ", std::strerror(errno)));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("store: cannot rename to ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileStore::Wait(std::string_view key, absl::Duration timeout) {
  const std::string path = PathOf(key);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = absl::Milliseconds(1);
  for (;;) {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("store: key '", std::string(key), "' (", path,
                                                      ") not set within ",
                                                      absl::FormatDuration(timeout)));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(50));
  }
}

absl::Status PrefixStore::Set(std::string_view key, std::string_view value) {
  return base_.Set(absl::StrCat(prefix_, "/", std::string(key)), value);
}

absl::StatusOr<std::string> PrefixStore::Wait(std::string_view key, absl::Duration timeout) {
  return base_.Wait(absl::StrCat(prefix_, "/", std::string(key)), timeout);
}

}  // namespace tpserve::comm
