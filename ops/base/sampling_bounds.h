// The bounds of the sampling parameters, defined once for the whole cluster.
//
// The coordinator checks a public request's sampling against them (coordinator/
// request_validation.cc, before admission fills generation_config.json's defaults) and every
// worker checks the values it samples with again (shard::SamplingParams::Validate: the leader
// trusts but verifies what the cluster API hands it, and `tpserve generate` has no coordinator in
// front). Both go through ValidateSamplingFields: the coordinator cannot link the shard and the
// shard does not know the protos, so the one definition lives in tpserve_base, which both link.
#ifndef TPSERVE_OPS_BASE_SAMPLING_BOUNDS_H_
#define TPSERVE_OPS_BASE_SAMPLING_BOUNDS_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace tpserve {

// One request's scalar sampling parameters; a field left unset is not checked (it takes a
// default that was checked where it came from).
struct SamplingFields {
  std::optional<float> temperature;         // >= 0 and finite; 0 = greedy
  std::optional<int32_t> top_k;             // >= 0; 0 = off
  std::optional<float> top_p;               // (0, 1]; 1 = off
  std::optional<float> min_p;               // [0, 1]; 0 = off
  std::optional<float> repetition_penalty;  // > 0 and finite; 1 = off
};

// OK, or InvalidArgument for the first set field out of bounds, as
// "<prefix><field>: must be ..., got <value>" (e.g. prefix "sampling.": "sampling.top_p: must be
// in (0, 1], got 1.5").
absl::Status ValidateSamplingFields(const SamplingFields& fields, std::string_view prefix);

}  // namespace tpserve

#endif  // TPSERVE_OPS_BASE_SAMPLING_BOUNDS_H_
