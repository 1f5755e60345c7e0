#include "worker/leader_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ops/base/log.h"
#include "ops/base/status_macros.h"
#include "proto/cluster_token.h"
#include "proto/grpc_status.h"
#include "shard/prompt_images.h"
#include "vision/image_decode.h"

namespace tpserve::worker {
namespace {

using cluster::v1::GenerateResponse;

GenerateResponse::Finish ToProto(FinishReason reason) {
  return reason == FinishReason::kStopToken ? GenerateResponse::FINISH_STOP_TOKEN
                                            : GenerateResponse::FINISH_LENGTH;
}

// One Generate stream. The reactor is driven from gRPC threads (OnWriteDone, OnCancel, OnDone) and
// from the step thread (through Sink). All stream state sits behind `mu_`; reactor operations
// (StartWrite, Finish) are decided under the lock and issued after it, with two rules that keep
// the reactor alive while an operation is issued: no write after Finish was decided, and no
// Finish while a write is outstanding.
class GenerateStream final : public grpc::ServerWriteReactor<GenerateResponse> {
 public:
  // The scheduler's view of the stream. Shared with the scheduler, so it may outlive the reactor;
  // once the reactor is done its calls are dropped.
  class Sink final : public SequenceSink {
   public:
    explicit Sink(GenerateStream* stream) : stream_(stream) {}
    void OnUpdate(const SequenceUpdate& update) override {
      absl::MutexLock lock(&mu_);
      if (stream_ != nullptr) stream_->Push(update);
    }
    void OnError(const absl::Status& status) override {
      absl::MutexLock lock(&mu_);
      if (stream_ != nullptr) stream_->Fail(status);
    }
    void Detach() {
      absl::MutexLock lock(&mu_);
      stream_ = nullptr;
    }

   private:
    absl::Mutex mu_;
    GenerateStream* stream_ ABSL_GUARDED_BY(mu_);
  };

  // gRPC calls OnCancel for a call cancelled before or after this point (a passed deadline
  // included), so the constructor needs no check of its own.
  // `admitted`: the caller's checks (the join token); an error ends the call at once.
  GenerateStream(Scheduler& scheduler, const cluster::v1::GenerateRequest& request,
                 const ImageSettings* images, const absl::Status& admitted)
      : scheduler_(scheduler), sink_(std::make_shared<Sink>(this)) {
    GenerateParams params = GenerateParamsFromProto(request);
    absl::Status attached = admitted.ok() ? AttachImages(request, images, params) : admitted;
    absl::StatusOr<uint64_t> id = attached.ok() ? scheduler_.Submit(std::move(params), sink_)
                                                : absl::StatusOr<uint64_t>(attached);
    if (!id.ok()) {
      {
        absl::MutexLock lock(&mu_);
        finishing_ = true;
      }
      Finish(ToGrpcStatus(id.status()));
      return;
    }
    // The step thread may already be streaming to this reactor (gRPC backlogs writes made
    // before Generate returns it); the id is published under the lock its reads take.
    Action action;
    {
      absl::MutexLock lock(&mu_);
      id_ = *id;
      submitted_ = true;
      action = NextActionLocked();
    }
    Run(action);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok && !terminal_.has_value()) {
        // The client is gone (cancelled or disconnected).
        terminal_ = grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke");
        cancel_sequence_ = true;
      }
      if (!ok) pending_.clear();
      action = NextActionLocked();
    }
    Run(action);
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      if (!terminal_.has_value()) {
        terminal_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
      cancel_sequence_ = true;
      pending_.clear();
      action = NextActionLocked();
    }
    Run(action);
  }

  void OnDone() override {
    sink_->Detach();
    delete this;
  }

  // Step thread (through Sink, whose lock is held).
  void Push(const SequenceUpdate& u) {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      if (terminal_.has_value() || finishing_) return;
      GenerateResponse* r = nullptr;
      if (!pending_.empty() && !pending_.back().done()) {
        r = &pending_.back();  // the client is slower than the steps: coalesce
      } else {
        pending_.emplace_back();
        r = &pending_.back();
      }
      for (int32_t t : u.tokens) r->add_token_ids(t);
      cluster::v1::StepTiming* timing = r->mutable_timing();
      timing->set_step_seconds(u.step_seconds);
      timing->set_batch_sequences(u.batch_sequences);
      if (u.first) {
        timing->set_queue_seconds(u.queue_seconds);
        timing->set_prefill_seconds(u.prefill_seconds);
        r->set_prompt_tokens(u.prompt_tokens);
      }
      if (u.finish.has_value()) {
        r->set_done(true);
        r->set_finish(ToProto(*u.finish));
        r->set_prompt_tokens(u.prompt_tokens);
        r->set_cached_tokens(0);
        terminal_ = grpc::Status::OK;
      }
      action = NextActionLocked();
    }
    Run(action);
  }

  void Fail(const absl::Status& status) {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      if (terminal_.has_value() || finishing_) return;
      terminal_ = ToGrpcStatus(status);
      action = NextActionLocked();
    }
    Run(action);
  }

 private:
  struct Action {
    const GenerateResponse* write = nullptr;
    std::optional<grpc::Status> finish;
    std::optional<uint64_t> cancel_sequence;
  };

  Action NextActionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Action a;
    if (cancel_sequence_ && submitted_ && !cancel_sent_) {
      a.cancel_sequence = id_;
      cancel_sent_ = true;
    }
    if (writing_ || finishing_) return a;
    if (!pending_.empty()) {
      in_flight_ = std::move(pending_.front());
      pending_.pop_front();
      writing_ = true;
      a.write = &in_flight_;
    } else if (terminal_.has_value()) {
      finishing_ = true;
      a.finish = *terminal_;
    }
    return a;
  }

  void Run(const Action& a) {
    if (a.cancel_sequence.has_value()) scheduler_.Cancel(*a.cancel_sequence);
    if (a.write != nullptr) StartWrite(a.write);
    if (a.finish.has_value()) Finish(*a.finish);
  }

  Scheduler& scheduler_;
  const std::shared_ptr<Sink> sink_;

  absl::Mutex mu_;
  uint64_t id_ ABSL_GUARDED_BY(mu_) = 0;
  bool submitted_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<GenerateResponse> pending_ ABSL_GUARDED_BY(mu_);
  GenerateResponse in_flight_;  // written by StartWrite; touched only while writing_ is false
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> terminal_ ABSL_GUARDED_BY(mu_);
  bool cancel_sequence_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_sent_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

GenerateParams GenerateParamsFromProto(const cluster::v1::GenerateRequest& r) {
  GenerateParams p;
  p.request_id = r.request_id();
  p.prompt.assign(r.prompt_ids().begin(), r.prompt_ids().end());
  const cluster::v1::SamplingParams& s = r.sampling();
  // Unset fields keep the sampler's defaults; set ones are taken as given (Validate checks them).
  if (s.has_temperature()) p.sampling.temperature = s.temperature();
  if (s.has_top_k()) p.sampling.top_k = s.top_k();
  if (s.has_top_p()) p.sampling.top_p = s.top_p();
  if (s.has_min_p()) p.sampling.min_p = s.min_p();
  if (s.has_repetition_penalty()) p.sampling.repetition_penalty = s.repetition_penalty();
  if (s.has_seed()) p.sampling.seed = s.seed();
  for (const cluster::v1::TokenRange& range : r.allowed_tokens()) {
    p.sampling.allowed_tokens.push_back({range.begin(), range.end()});
  }
  p.max_tokens = r.max_tokens();
  p.stop_token_ids.assign(r.stop_token_ids().begin(), r.stop_token_ids().end());
  p.priority = r.priority();
  p.thinking_budget = r.thinking_budget();
  p.think_end_token_id = r.think_end_token_id();
  p.in_thinking = r.in_thinking();
  return p;
}

absl::Status AttachImages(const cluster::v1::GenerateRequest& request,
                          const ImageSettings* settings, GenerateParams& params) {
  if (request.images_size() == 0) return absl::OkStatus();
  if (settings == nullptr) {
    return absl::InvalidArgumentError("images: this replica's model has no vision tower");
  }
  std::vector<std::string> images(request.images().begin(), request.images().end());
  absl::StatusOr<shard::PromptImages> planned = shard::PlanPromptImages(
      params.prompt, images, settings->image_token_id, settings->preprocess, settings->limits);
  if (!planned.ok()) return Annotate(planned.status(), "images");
  // Every image is decoded once here, before the request can enter a step: the header alone (all
  // that planning reads) says nothing of a truncated or corrupt body, and a decoder error inside a
  // step would fail the whole group. Decoding is deterministic, so the followers' decode of the
  // same bytes succeeds too.
  for (size_t i = 0; i < images.size(); ++i) {
    absl::Status decoded = vision::DecodeImage(images[i], settings->limits).status();
    if (!decoded.ok()) return Annotate(decoded, absl::StrCat("images[", i, "]"));
  }
  for (size_t i = 0; i < planned->images.size(); ++i) {
    params.images.push_back({planned->images[i], planned->tokens_per_image[i]});
  }
  params.positions = std::move(planned->positions);
  params.position_offset = planned->position_delta;
  return absl::OkStatus();
}

grpc::ServerWriteReactor<GenerateResponse>* LeaderService::Generate(
    grpc::CallbackServerContext* context, const cluster::v1::GenerateRequest* request) {
  std::shared_ptr<const ImageSettings> images;
  {
    absl::MutexLock lock(&mu_);
    images = images_;
  }
  absl::Status admitted =
      cluster::CheckJoinToken(join_token_, request->join_token(), "this leader");
  if (!admitted.ok()) {
    TPS_LOG(kWarning) << "refused Generate from " << context->peer() << ": " << admitted.message();
  }
  return new GenerateStream(scheduler_, *request, images.get(), admitted);
}

}  // namespace tpserve::worker
