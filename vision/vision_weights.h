// VisionWeights: one rank's share of the vision tower (model.visual.*), as views. Filled by the
// shard weight loader (shard/weight_loader.cc) from the checkpoint, or by a benchmark in memory.
//
// Tensor parallel (DESIGN.md): attention heads and MLP columns split like the language model —
// qkv by heads (each rank's q, k and v rows, three pieces), proj by input columns (row-parallel,
// partial sums all-reduced), fc1 by output rows, fc2 by input columns; the merger's fc1 by output
// rows and fc2 by input columns. Patch embedding, position table and every LayerNorm are
// replicated. A row-parallel layer's bias is held by rank 0 only (empty elsewhere), so the
// all-reduce adds it once. Data parallel: every rank holds the whole tower (tp_ranks = 1).
#ifndef TPSERVE_VISION_VISION_WEIGHTS_H_
#define TPSERVE_VISION_VISION_WEIGHTS_H_

#include <memory>
#include <vector>

#include "ops/core/device_buffer.h"
#include "ops/core/tensor_view.h"

namespace tpserve::vision {

// A linear layer: weight row pieces (written to consecutive output columns) and a bias.
struct VisionLinear {
  std::vector<ops::ConstTensorView> pieces;  // each [rows_i, in] f32 | bf16 | f16
  ops::ConstTensorView bias;                 // [Σ rows_i] f32, or empty (none on this rank)
  int64_t out_features() const {
    int64_t n = 0;
    for (const auto& p : pieces) n += p.dim(0);
    return n;
  }
  int64_t in_features() const { return pieces.empty() ? 0 : pieces[0].dim(1); }
};

struct VisionBlockWeights {
  ops::ConstTensorView norm1_weight, norm1_bias;  // [hidden] f32
  VisionLinear qkv;   // [3 * heads_local * head_dim, hidden]: local q | k | v, heads contiguous
  VisionLinear proj;  // [hidden, heads_local * head_dim] (row-parallel)
  ops::ConstTensorView norm2_weight, norm2_bias;  // [hidden] f32
  VisionLinear fc1;                               // [intermediate_local, hidden]
  VisionLinear fc2;                               // [hidden, intermediate_local] (row-parallel)
};

struct VisionWeights {
  VisionLinear patch_embed;        // [hidden, in_channels * temporal * patch * patch]
  ops::ConstTensorView pos_embed;  // [num_position_embeddings, hidden] (any float dtype)
  std::vector<VisionBlockWeights> blocks;
  ops::ConstTensorView merger_norm_weight, merger_norm_bias;  // [hidden] f32
  VisionLinear merger_fc1;  // [merger_hidden_local, merger_hidden]
  VisionLinear merger_fc2;  // [out_hidden, merger_hidden_local] (row-parallel)
  int tp_ranks = 1;         // ranks the heads and MLP are split across (1: the whole tower)

  // Keeps the memory behind the views alive when the tower owns it (for example buffers built in
  // memory by a benchmark); the weight loader's copies live in shard::ModelWeights instead.
  std::shared_ptr<const void> keep_alive;
};

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_VISION_WEIGHTS_H_
