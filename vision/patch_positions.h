// Per-patch position data of the tower, computed on the host from the patch grids (spec §5.4,
// §5.5), in the tower's patch order (2x2 merge windows, see image_preprocess.h):
//   - RotaryPositions: (row, col) of each patch in its image's patch grid, for Rope2d;
//   - InterpolatePositionEmbedding: the learned side x side position table resampled to each
//     grid by bilinear interpolation with align_corners, exactly as transformers computes it in
//     f32 (source coordinate index·(side−1)/max(size−1, 1), weights wy·wx, the four taps summed in
//     order (y0,x0), (y0,x1), (y1,x0), (y1,x1)).
#ifndef TPSERVE_VISION_PATCH_POSITIONS_H_
#define TPSERVE_VISION_PATCH_POSITIONS_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "vision/image_plan.h"

namespace tpserve::vision {

// [Σ num_patches, 2] i32 (row, col), images concatenated.
std::vector<int32_t> RotaryPositions(absl::Span<const ImageGrid> grids);

// [Σ num_patches, hidden] f32 from `table` [side * side, hidden] f32.
std::vector<float> InterpolatePositionEmbedding(absl::Span<const ImageGrid> grids,
                                                const float* table, int64_t side, int64_t hidden);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_PATCH_POSITIONS_H_
