// ShardPlan: how every weight of a Qwen3.5 text model splits across the ranks of a
// tensor-parallel group (DESIGN.md "Tensor-parallel layout"), as data.
//
//   column (dim 0 of a [out, in] matrix)  q_proj (per head [query | gate]), k/v_proj, the delta
//                                         net's in_proj_* and conv1d (by key-head group: each key
//                                         head with its value heads), A_log, dt_bias, MLP gate/up
//   row    (dim 1)                        o_proj, out_proj, down_proj — then an all-reduce
//   vocab  (dim 0 of [vocab, hidden])     embed_tokens, lm_head
//   replicated                            norms; KV heads when there are fewer than ranks
//
// The vision tower (model.visual.*, when it runs tensor-parallel): attn.qkv by heads in each of its
// q | k | v segments, attn.proj by input columns (row), mlp.linear_fc1 by rows and linear_fc2 by
// input columns, merger.linear_fc1 by rows and merger.linear_fc2 by input columns; the patch and
// position embeddings, every LayerNorm and the row-parallel layers' biases are replicated (rank 0
// adds those biases). VisionTensorParallelStatus says whether a tp_size can split the tower.
//
// Fused tensors split segment by segment (in_proj_qkv = [q | k | v]: each rank takes its slice of
// every segment) and never inside a unit (one head's rows). MakeShardPlan checks divisibility once,
// with messages such as "tp_size 4 does not divide num_attention_heads 6".
#ifndef TPSERVE_SHARD_SHARD_PLAN_H_
#define TPSERVE_SHARD_SHARD_PLAN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_spec.h"
#include "model/parallel_layout.h"

namespace tpserve::shard {

enum class SplitKind : uint8_t {
  kReplicated,  // every rank holds all of it
  kColumn,      // output features (dim 0) split; no collective after
  kRow,         // input features (dim 1) split; the output is a partial sum to all-reduce
  kVocab,       // vocabulary rows (dim 0) split; embedding all-reduced, logits gathered
};

struct ShardSpec {
  SplitKind kind = SplitKind::kReplicated;
  int dim = 0;                    // the dim that is split
  std::vector<int64_t> segments;  // sizes of the fused parts along `dim` (sum = the dim)
  std::vector<int64_t> units;     // per segment: rows that must stay together (one head)
  // A segment with fewer units than ranks (KV heads) is replicated: rank r takes unit
  // r * units / tp_size. Requires tp_size % units == 0.
  bool replicate_small = false;
};

struct SliceRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Ranges along spec.dim that rank `tp_rank` holds, in local order (their concatenation is the
// rank's tensor). Replicated: the whole dim.
absl::StatusOr<std::vector<SliceRange>> RankRanges(const ShardSpec& spec, int64_t dim_size,
                                                   int tp_size, int tp_rank);

// OK when tp_size divides the tower's heads, MLP width and merger width; otherwise
// InvalidArgument naming the count (the tower then runs data-parallel, see ModelOptions).
absl::Status VisionTensorParallelStatus(const model::VisionSpec& vision, int tp_size);

class ShardPlan {
 public:
  // InvalidArgument naming the count that tp_size does not divide.
  static absl::StatusOr<ShardPlan> Make(const model::Qwen35Spec& spec, int tp_size);

  int tp_size() const { return tp_size_; }
  // The spec of a text-model or vision-tower tensor by its checkpoint name (either text prefix,
  // model.visual. for the tower); NotFound for a name that is part of neither.
  absl::StatusOr<ShardSpec> SpecFor(std::string_view tensor_name) const;

 private:
  model::Qwen35Spec spec_;
  int tp_size_ = 1;
};

}  // namespace tpserve::shard

#endif  // TPSERVE_SHARD_SHARD_PLAN_H_
