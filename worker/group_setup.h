// The GroupSetup message a leader sends its followers, so every rank builds the model with the
// same options.
#ifndef TPSERVE_WORKER_GROUP_SETUP_H_
#define TPSERVE_WORKER_GROUP_SETUP_H_

#include <string>

#include "absl/status/statusor.h"
#include "shard/qwen35_model.h"
#include "tpserve/cluster/v1/step.pb.h"

namespace tpserve::worker {

cluster::v1::GroupSetup MakeGroupSetup(const std::string& model_dir, int tp_size,
                                       const shard::ModelOptions& options);
// InvalidArgument when the protocol version differs or a field is out of range.
absl::StatusOr<shard::ModelOptions> ModelOptionsFromSetup(const cluster::v1::GroupSetup& setup);

}  // namespace tpserve::worker

#endif  // TPSERVE_WORKER_GROUP_SETUP_H_
