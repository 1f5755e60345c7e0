// LeaderService: tpserve.cluster.v1.Leader on a group leader. Each Generate call is one sequence:
// the request is converted (GenerateParamsFromProto), submitted to the Scheduler, and its
// updates are streamed back as GenerateResponses (sampled ids + step timing), ending with
// done: true and the finish reason. Callback API: no thread is held per stream.
//
// Status codes: UNAUTHENTICATED without the cluster's join token (when one is set),
// INVALID_ARGUMENT for a bad request (naming the field), RESOURCE_EXHAUSTED when the
// sequence can never fit the replica's KV pool, FAILED_PRECONDITION while the replica loads,
// UNAVAILABLE when the group is broken, re-forming or shutting down (also for streams in flight
// when the group fails). A cancelled call or an expired deadline cancels the sequence: its slot is
// released by the scheduler's next plan on every rank.
//
// Thread-safety: gRPC calls it from its own threads; the Scheduler is thread-safe.
#ifndef TPSERVE_WORKER_LEADER_SERVICE_H_
#define TPSERVE_WORKER_LEADER_SERVICE_H_

#include <memory>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "tpserve/cluster/v1/cluster.grpc.pb.h"
#include "vision/image_limits.h"
#include "vision/preprocess_config.h"
#include "worker/scheduler/scheduler.h"
#include "worker/scheduler/sequence.h"

namespace tpserve::worker {

// The request as the scheduler sees it. proto3 zeros mean "off" where zero is not a meaningful
// value: top_p 0 → 1, repetition_penalty 0 → 1; temperature 0 is greedy.
GenerateParams GenerateParamsFromProto(const cluster::v1::GenerateRequest& request);

// How a replica places images in prompts (from its model's config and preprocessor).
struct ImageSettings {
  int32_t image_token_id = 0;
  vision::PreprocessConfig preprocess;
  vision::ImageLimits limits;
};

// Fills `params`' images, M-RoPE positions and position offset from the request's images
// (INVALID_ARGUMENT naming the image when its header, limits or pad tokens are wrong). Without
// images it does nothing; with images and no `settings` (a text-only replica) it fails.
absl::Status AttachImages(const cluster::v1::GenerateRequest& request,
                          const ImageSettings* settings, GenerateParams& params);

class LeaderService final : public cluster::v1::Leader::CallbackService {
 public:
  // `join_token` (may be empty: not checked): the cluster's token each Generate must carry.
  explicit LeaderService(Scheduler& scheduler, std::string join_token = "")
      : scheduler_(scheduler), join_token_(std::move(join_token)) {}

  // Set once the replica's model is loaded, when it has a vision tower.
  void SetImageSettings(const ImageSettings& settings) {
    absl::MutexLock lock(&mu_);
    images_ = std::make_shared<const ImageSettings>(settings);
  }

  grpc::ServerWriteReactor<cluster::v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const cluster::v1::GenerateRequest* request) override;

 private:
  Scheduler& scheduler_;
  const std::string join_token_;
  absl::Mutex mu_;
  std::shared_ptr<const ImageSettings> images_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_LEADER_SERVICE_H_
