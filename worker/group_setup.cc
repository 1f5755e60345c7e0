#include "worker/group_setup.h"

#include "absl/strings/str_cat.h"
#include "ops/base/status_macros.h"

namespace tpserve::worker {

cluster::v1::GroupSetup MakeGroupSetup(const std::string& model_dir, int tp_size,
                                       const shard::ModelOptions& o) {
  cluster::v1::GroupSetup s;
  s.set_protocol_version(cluster::v1::STEP_PROTOCOL_VERSION);
  s.set_model_dir(model_dir);
  s.set_tp_size(tp_size);
  s.set_max_slots(o.max_slots);
  s.set_max_context(o.max_context);
  s.set_max_tokens_per_step(o.max_tokens_per_step);
  s.set_max_logit_rows(o.max_logit_rows);
  s.set_kv_block_size(o.kv_block_size);
  s.set_kv_dtype(!o.kv_dtype.has_value() ? "" : *o.kv_dtype == DType::kF32 ? "f32" : "bf16");
  s.set_delta_net_chunk_size(o.delta_net_chunk_size);
  s.set_vision_parallelism(std::string(shard::VisionParallelismName(o.vision_parallelism)));
  return s;
}

absl::StatusOr<shard::ModelOptions> ModelOptionsFromSetup(const cluster::v1::GroupSetup& s) {
  if (s.protocol_version() != cluster::v1::STEP_PROTOCOL_VERSION) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group setup: protocol version ", s.protocol_version(), ", this worker speaks ",
        static_cast<int>(cluster::v1::STEP_PROTOCOL_VERSION)));
  }
  shard::ModelOptions o;
  o.max_slots = s.max_slots();
  o.max_context = s.max_context();
  o.max_tokens_per_step = s.max_tokens_per_step();
  o.max_logit_rows = s.max_logit_rows();
  o.kv_block_size = s.kv_block_size();
  o.delta_net_chunk_size = s.delta_net_chunk_size();
  if (s.kv_dtype() == "f32") {
    o.kv_dtype = DType::kF32;
  } else if (s.kv_dtype() == "bf16") {
    o.kv_dtype = DType::kBF16;
  } else if (!s.kv_dtype().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("group setup: kv_dtype '", s.kv_dtype(), "'"));
  }
  TPS_ASSIGN_OR_RETURN(
      o.vision_parallelism,
      shard::ParseVisionParallelism(s.vision_parallelism(), "group setup: vision_parallelism"));
  if (o.max_slots <= 0 || o.max_context <= 0 || o.max_tokens_per_step <= 0 ||
      o.kv_block_size <= 0) {
    return absl::InvalidArgumentError("group setup: sizes must be > 0");
  }
  return o;
}

}  // namespace tpserve::worker
