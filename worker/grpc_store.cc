#include "worker/grpc_store.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/grpc_status.h"

namespace tpserve::worker {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d);
}

// Codes after which asking again may succeed: the coordinator is restarting or unreachable, or a
// wait slice ended before the key was set.
bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::NOT_FOUND || code == grpc::StatusCode::ABORTED;
}

}  // namespace

GrpcStore::GrpcStore(std::shared_ptr<grpc::Channel> channel, const GrpcStoreOptions& options)
    : stub_(cluster::v1::Coordinator::NewStub(std::move(channel))), options_(options) {}

absl::Status GrpcStore::Set(std::string_view key, std::string_view value) {
  cluster::v1::StoreSetRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_join_token(options_.join_token);
  const absl::Time give_up = absl::Now() + options_.set_timeout;
  absl::Duration backoff = absl::Milliseconds(20);
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(Deadline(options_.call_timeout));
    cluster::v1::StoreSetResponse response;
    const grpc::Status s = stub_->StoreSet(&context, request, &response);
    if (s.ok()) return absl::OkStatus();
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() + backoff > give_up) {
      return FromGrpcStatus(s, absl::StrCat("store: setting '", std::string(key), "'"));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::StatusOr<std::string> GrpcStore::Wait(std::string_view key, absl::Duration timeout) {
  cluster::v1::StoreWaitRequest request;
  request.set_key(std::string(key));
  request.set_join_token(options_.join_token);
  const absl::Time give_up = absl::Now() + timeout;
  absl::Duration backoff = absl::Milliseconds(20);
  grpc::Status last;
  for (;;) {
    const absl::Duration left = give_up - absl::Now();
    const absl::Duration slice =
        std::max(std::min(left, options_.wait_slice), absl::Milliseconds(1));
    request.set_timeout_ms(absl::ToInt64Milliseconds(slice));
    grpc::ClientContext context;
    // The coordinator answers when the key is set or the slice ends; allow it time to reply.
    context.set_deadline(Deadline(slice + options_.call_timeout));
    cluster::v1::StoreWaitResponse response;
    const absl::Time asked = absl::Now();
    last = stub_->StoreWait(&context, request, &response);
    if (last.ok()) return std::string(response.value());
    if (!Retryable(last.error_code())) {
      return FromGrpcStatus(last, absl::StrCat("store: waiting for '", std::string(key), "'"));
    }
    if (absl::Now() >= give_up) break;
    // Unreachable, or answered well before the slice ended: back off instead of spinning.
    if (last.error_code() == grpc::StatusCode::UNAVAILABLE || absl::Now() - asked < slice / 2) {
      absl::SleepFor(std::min(backoff, give_up - absl::Now()));
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }
  return absl::DeadlineExceededError(
      absl::StrCat("store: key '", std::string(key), "' not set within ",
                   absl::FormatDuration(timeout), " (last answer: ", last.error_message(), ")"));
}

}  // namespace tpserve::worker
