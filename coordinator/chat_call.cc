#include "coordinator/chat_call.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "coordinator/wire_utf8.h"
#include "grpc/support/time.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "proto/grpc_status.h"

namespace tpserve::coordinator {

namespace pb = ::tpserve::v1;
namespace cpb = ::tpserve::cluster::v1;

namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer Serialize(const pb::ChatResponse& response) {
  const std::string bytes = response.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

const char* FinishReasonLabel(pb::FinishReason reason) {
  switch (reason) {
    case pb::FINISH_REASON_STOP:
      return "stop";
    case pb::FINISH_REASON_LENGTH:
      return "length";
    case pb::FINISH_REASON_TOOL_CALLS:
      return "tool_calls";
    case pb::FINISH_REASON_CANCELLED:
      return "cancelled";
    default:
      return "none";
  }
}

}  // namespace

void CallTracker::Add() {
  absl::MutexLock lock(&mu_);
  ++live_;
}

void CallTracker::Remove() {
  absl::MutexLock lock(&mu_);
  --live_;
}

bool CallTracker::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return live_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

int CallTracker::live() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

ChatCall::ChatCall(ChatDeps deps, grpc::CallbackServerContext* context)
    : tracked_(deps.tracker), deps_(deps), context_(context), arrival_(absl::Now()) {}

grpc::ServerWriteReactor<grpc::ByteBuffer>* ChatCall::Start(ChatDeps deps,
                                                            grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer& request) {
  std::shared_ptr<ChatCall> call(new ChatCall(deps, context));
  call->self_ = call;
  call->Begin(request);
  return call.get();
}

std::string ChatCall::ReplicaName() const {
  absl::MutexLock lock(&mu_);
  if (!target_.has_value()) return "(none)";
  return absl::StrCat(target_->group.ToString(), " (leader ", target_->leader_address, ")");
}

void ChatCall::Begin(const grpc::ByteBuffer& request_bytes) {
  if (absl::Status auth = deps_.auth.Check(context_->client_metadata()); !auth.ok()) {
    End(auth, "none", false);
    return;
  }
  const std::string wire = Flatten(request_bytes);
  if (absl::Status utf8 = CheckWireUtf8(*pb::ChatRequest::descriptor(), wire); !utf8.ok()) {
    End(utf8, "none", false);
    return;
  }
  pb::ChatRequest request;
  if (!request.ParseFromString(wire)) {
    End(absl::InvalidArgumentError("request: not a valid tpserve.v1.ChatRequest"), "none", false);
    return;
  }
  if (deps_.catalogue.Find(request.model()).has_value()) model_label_ = request.model();
  absl::StatusOr<AdmittedRequest> admitted = deps_.admission.Admit(request);
  if (!admitted.ok()) {
    End(admitted.status(), "none", false);
    return;
  }
  admitted_ = *std::move(admitted);
  OutputAssemblerOptions options;
  options.tokenizer = admitted_->assets->tokenizer.get();
  options.request_id = admitted_->request_id;
  options.stop_strings = admitted_->stop_strings;
  options.starts_in_reasoning = admitted_->starts_in_reasoning;
  options.tools = admitted_->tools;
  options.think_start_id = admitted_->assets->think_start_id;
  options.think_end_id = admitted_->assets->think_end_id;
  options.prompt_tokens = admitted_->prompt_tokens;
  assembler_ = std::make_unique<OutputAssembler>(std::move(options));
  {
    absl::MutexLock lock(&mu_);
    phase_ = Phase::kQueued;
  }
  // The client's deadline bounds the wait for a slot (none: system_clock's max).
  if (const auto deadline = context_->deadline();
      deadline != std::chrono::system_clock::time_point::max()) {
    admitted_->route.deadline = absl::FromChrono(deadline);
  }
  std::shared_ptr<ChatCall> self = shared_from_this();
  absl::StatusOr<Router::Submitted> submitted = deps_.router.Submit(
      admitted_->route,
      [self](absl::StatusOr<RouteTarget> target) { self->OnDispatched(std::move(target)); });
  if (!submitted.ok()) {
    End(submitted.status(), "none", false);
    return;
  }
  if (submitted->target.has_value()) {
    OnDispatched(*submitted->target);
    return;
  }
  // Queued. A dispatch from another thread may already have moved the call on.
  absl::MutexLock lock(&mu_);
  if (phase_ == Phase::kQueued) ticket_ = submitted->ticket;
}

void ChatCall::OnDispatched(absl::StatusOr<RouteTarget> target) {
  if (!target.ok()) {
    End(target.status(), "none", false);
    return;
  }
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    target_ = *target;
    cancelled = cancelled_;
    if (!cancelled) phase_ = Phase::kStreaming;
  }
  dispatched_ = absl::Now();
  deps_.metrics.ObserveQueueTime(admitted_->model, absl::ToDoubleSeconds(dispatched_ - arrival_));
  if (cancelled) {
    ReleaseSlot();
    End(absl::CancelledError("the client cancelled the request"), "cancelled", false);
    return;
  }
  StartLeader(*target);
}

void ChatCall::StartLeader(const RouteTarget& target) {
  deps_.metrics.AddPromptTokens(admitted_->model, admitted_->prompt_tokens);
  last_token_ = absl::Now();
  tpserve::cluster::v1::GenerateRequest request = admitted_->generate;
  request.set_join_token(deps_.channels.join_token());
  std::shared_ptr<LeaderStream> stream =
      LeaderStream::Start(deps_.channels.Get(target.leader_address), std::move(request),
                          context_->raw_deadline(), shared_from_this());
  bool cancel;
  {
    absl::MutexLock lock(&mu_);
    leader_ = stream;
    cancel = cancelled_ || phase_ == Phase::kEnded;
  }
  if (cancel) stream->Cancel();
}

void ChatCall::ReleaseSlot() {
  RouteTarget target;
  {
    absl::MutexLock lock(&mu_);
    if (released_ || !target_.has_value()) return;
    released_ = true;
    target = *target_;
  }
  deps_.router.Release(target);
}

void ChatCall::OnLeaderResponse(const cpb::GenerateResponse& response) {
  {
    absl::MutexLock lock(&mu_);
    if (phase_ == Phase::kEnded) return;
  }
  const absl::Time now = absl::Now();
  absl::StatusOr<OutputAssembler::Step> step = assembler_->Push(response);
  if (!step.ok()) {
    End(absl::Status(step.status().code(),
                     absl::StrCat("replica ", ReplicaName(), ": ", step.status().message())),
        "none", true);
    return;
  }
  const int tokens = step->delta.has_value() ? step->delta->token_ids_size() : 0;
  if (tokens > 0) {
    const std::string& model = admitted_->model;
    deps_.metrics.AddGenerationTokens(model, tokens);
    if (!first_token_.has_value()) {
      first_token_ = now;
      deps_.metrics.ObserveTimeToFirstToken(model, absl::ToDoubleSeconds(now - arrival_));
    } else {
      const double per_token = absl::ToDoubleSeconds(now - last_token_) / tokens;
      for (int i = 0; i < tokens; ++i) deps_.metrics.ObserveInterTokenLatency(model, per_token);
    }
    last_token_ = now;
  }
  if (step->delta.has_value()) {
    pb::ChatResponse out;
    out.set_request_id(admitted_->request_id);
    *out.mutable_delta() = *std::move(step->delta);
    Send(out);
  }
  if (step->finished) {
    SendDone();
    if (step->stopped_early) {
      std::shared_ptr<LeaderStream> leader;
      {
        absl::MutexLock lock(&mu_);
        leader = leader_;
      }
      if (leader != nullptr) leader->Cancel();  // else StartLeader cancels it
    }
  }
}

void ChatCall::SendDone() {
  const absl::Time now = absl::Now();
  const double ttft =
      first_token_.has_value() ? absl::ToDoubleSeconds(*first_token_ - arrival_) : 0;
  pb::ChatResponse out;
  out.set_request_id(admitted_->request_id);
  *out.mutable_done() = assembler_->MakeDone(ttft, absl::ToDoubleSeconds(now - arrival_));
  Send(out);
  End(absl::OkStatus(), FinishReasonLabel(assembler_->finish_reason()), false);
}

void ChatCall::OnLeaderDone(const absl::Status& status) {
  ReleaseSlot();
  bool ended, cancelled;
  {
    absl::MutexLock lock(&mu_);
    ended = final_status_.has_value();
    cancelled = cancelled_;
  }
  if (ended) return;
  const std::string replica = ReplicaName();
  if (cancelled) {
    End(absl::CancelledError("the client cancelled the request"), "cancelled", false);
    return;
  }
  if (status.ok()) {
    End(absl::InternalError(
            absl::StrCat("replica ", replica, " ended the stream without a final message")),
        "none", false);
    return;
  }
  switch (status.code()) {
    case absl::StatusCode::kCancelled: {
      // The leader cancelled the sequence (not us): the turn ends as cancelled.
      OutputAssembler::Step step = assembler_->FinishCancelled();
      if (step.delta.has_value()) {
        pb::ChatResponse out;
        out.set_request_id(admitted_->request_id);
        *out.mutable_delta() = *std::move(step.delta);
        Send(out);
      }
      SendDone();
      return;
    }
    case absl::StatusCode::kDeadlineExceeded:
      End(absl::DeadlineExceededError(
              absl::StrCat("the deadline passed while replica ", replica, " was generating")),
          "none", false);
      return;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
      End(Annotate(status, absl::StrCat("replica ", replica)), "none", false);
      return;
    default:
      break;
  }
  GroupKey group;
  {
    absl::MutexLock lock(&mu_);
    group = target_->group;
  }
  const std::string reason = absl::StrCat(
      "a stream failed mid-way: ", StatusCodeLabel(status.code()), ": ", status.message());
  deps_.membership.MarkGroupFailed(group, reason);
  TPS_LOG(kWarning) << "replica " << replica << " failed: " << status.message()
                    << "; out of routing until its leader reports READY again";
  End(absl::UnavailableError(
          absl::StrCat("replica ", replica, " failed mid-stream (", status.message(),
                       "); it is out of routing until its leader reports ready again; retry")),
      "none", false);
}

void ChatCall::Send(const pb::ChatResponse& response) {
  grpc::ByteBuffer bytes = Serialize(response);
  const grpc::ByteBuffer* start = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_ || final_status_.has_value()) return;
    pending_.push_back(std::move(bytes));
    if (!writing_) {
      writing_ = true;
      start = &pending_.front();
    }
  }
  if (start != nullptr) StartWrite(start);
}

void ChatCall::End(const absl::Status& status, const std::string& finish_reason,
                   bool cancel_leader) {
  grpc::Status final_status = ToGrpcStatus(status);
  bool finish_now;
  bool cancelled;
  std::shared_ptr<LeaderStream> leader;
  {
    absl::MutexLock lock(&mu_);
    if (final_status_.has_value()) return;
    final_status_ = final_status;
    phase_ = Phase::kEnded;
    finish_now = !writing_;
    if (finish_now) finish_sent_ = true;
    cancelled = cancelled_;
    if (cancel_leader) leader = leader_;
  }
  absl::StatusCode code = status.code();
  if (cancelled && code == absl::StatusCode::kCancelled &&
      gpr_time_cmp(gpr_now(GPR_CLOCK_REALTIME),
                   gpr_convert_clock_type(context_->raw_deadline(), GPR_CLOCK_REALTIME)) >= 0) {
    code = absl::StatusCode::kDeadlineExceeded;  // for the metric: the deadline ran out
  }
  deps_.metrics.CountRequest(model_label_, code, finish_reason);
  if (admitted_.has_value()) {
    deps_.metrics.ObserveEndToEnd(admitted_->model, absl::ToDoubleSeconds(absl::Now() - arrival_));
  }
  if (leader != nullptr) leader->Cancel();
  if (finish_now) Finish(final_status);
}

void ChatCall::OnWriteDone(bool ok) {
  const grpc::ByteBuffer* next = nullptr;
  std::optional<grpc::Status> finish;
  std::shared_ptr<LeaderStream> leader;
  {
    absl::MutexLock lock(&mu_);
    pending_.pop_front();
    writing_ = false;
    if (!ok) {
      cancelled_ = true;  // the client is gone
      pending_.clear();
      leader = leader_;
    }
    if (!pending_.empty()) {
      writing_ = true;
      next = &pending_.front();
    } else if (final_status_.has_value() && !finish_sent_) {
      finish_sent_ = true;
      finish = final_status_;
    }
  }
  if (leader != nullptr) leader->Cancel();
  if (next != nullptr) {
    StartWrite(next);
  } else if (finish.has_value()) {
    Finish(*finish);
  }
}

void ChatCall::OnCancel() {
  uint64_t ticket;
  Phase phase;
  std::shared_ptr<LeaderStream> leader;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    ticket = ticket_;
    phase = phase_;
    leader = leader_;
  }
  if (phase == Phase::kQueued && ticket != 0 && deps_.router.Cancel(ticket)) {
    End(absl::CancelledError("the client cancelled the request while it waited"), "cancelled",
        false);
  } else if (leader != nullptr) {
    leader->Cancel();  // OnLeaderDone ends the call
  } else if (phase == Phase::kEnded) {
    End(absl::CancelledError("the client cancelled the request"), "cancelled", false);
  }
  // Otherwise a dispatch is under way; OnDispatched or StartLeader see `cancelled_`.
}

void ChatCall::OnDone() {
  // The client side is over; the call lives on while the leader stream still refers to it.
  std::shared_ptr<ChatCall> self = std::move(self_);
}

}  // namespace tpserve::coordinator
