// A model replica for the CLI commands: one in-process model (--tp 1) or a local
// tensor-parallel group of --tp processes driven from this one; either way a StepRunner.
#ifndef TPSERVE_TOOLS_CLI_REPLICA_H_
#define TPSERVE_TOOLS_CLI_REPLICA_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ops/core/backend.h"
#include "shard/model_loader.h"
#include "shard/step_runner.h"
#include "worker/local_group.h"

namespace tpserve::cli {

class Replica {
 public:
  // threads: CPU threads of the in-process model (0 = all cores), or per rank with tp > 1
  // (0 = 1 each).
  static absl::StatusOr<std::unique_ptr<Replica>> Open(const std::string& model_dir, int tp,
                                                       int threads,
                                                       const shard::ModelOptions& options,
                                                       const std::string& transport = "shm");

  shard::StepRunner& runner() { return group_ ? static_cast<shard::StepRunner&>(*group_) : *local_; }
  shard::Qwen35Model& model() { return runner().model(); }
  const shard::LoadedModel& loaded() const { return group_ ? group_->loaded() : loaded_; }
  worker::LocalGroup* group() { return group_.get(); }
  std::string Describe() const;  // "cpu: 2 threads, avx512" or "2 ranks x 1 thread(s)"

 private:
  std::unique_ptr<ops::Backend> backend_;
  shard::LoadedModel loaded_;
  std::unique_ptr<shard::LocalStepRunner> local_;
  std::unique_ptr<worker::LocalGroup> group_;
  int tp_ = 1;
  int threads_ = 0;
  std::string transport_;
};

}  // namespace tpserve::cli

#endif  // TPSERVE_TOOLS_CLI_REPLICA_H_
