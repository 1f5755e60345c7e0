// Placeholder arithmetic shared by the coordinator and the engine (spec §4, §5.9), pure functions
// with no device code:
//   - ExpandImagePlaceholders: the chat template writes one <|image_pad|> per image; the prompt
//     needs num_tokens copies of it.
//   - ComputeMropePositions: the (t, h, w) rotary position of every prompt token. Text tokens take
//     the running counter n on all three axes. The merged token at (row r, col c) of an image
//     whose first pad token meets the counter at s gets (s, s + r, s + c); afterwards the counter
//     is s + max(rows, cols), not s + rows·cols (the advance rule). Later tokens (decode) at
//     sequence index i take i + position_delta on every axis, where position_delta = (largest
//     prompt position + 1) − prompt length.
#ifndef TPSERVE_VISION_MROPE_POSITIONS_H_
#define TPSERVE_VISION_MROPE_POSITIONS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tpserve::vision {

// Where one image's pad tokens sit in a prompt, and its merged token grid.
struct ImageSpan {
  int64_t first_token = 0;  // index of its first image-pad token in the prompt
  int64_t rows = 0;         // merged grid rows (grid_h / merge)
  int64_t cols = 0;         // merged grid columns (grid_w / merge)
  int64_t num_tokens() const { return rows * cols; }
  friend bool operator==(const ImageSpan&, const ImageSpan&) = default;
};

// Replaces the k-th occurrence of `image_token_id` by tokens_per_image[k] copies of it. The
// number of occurrences must equal tokens_per_image.size() (InvalidArgument otherwise, e.g. an
// image part without a placeholder). `first_tokens`, when given, receives each image's first pad
// index in the result.
absl::StatusOr<std::vector<int32_t>> ExpandImagePlaceholders(
    absl::Span<const int32_t> ids, int32_t image_token_id,
    absl::Span<const int64_t> tokens_per_image, std::vector<int64_t>* first_tokens = nullptr);

struct MropePositions {
  std::vector<std::array<int32_t, 3>> positions;  // [prompt length] (t, h, w)
  int32_t position_delta = 0;  // for tokens after the prompt: position = index + delta
};

// Positions of an expanded prompt. `images[k]` describes the k-th image in prompt order: each
// must start at an image-pad token, cover exactly rows·cols consecutive pad tokens, and no pad
// token may lie outside an image (InvalidArgument naming the image or index otherwise).
absl::StatusOr<MropePositions> ComputeMropePositions(absl::Span<const int32_t> ids,
                                                     int32_t image_token_id,
                                                     absl::Span<const ImageSpan> images);

// The images of an expanded prompt from their merged grids (rows, cols) in order: finds each
// image's run of pad tokens (consecutive images may touch). InvalidArgument when the pad tokens
// do not add up to the grids.
absl::StatusOr<std::vector<ImageSpan>> LocateImages(
    absl::Span<const int32_t> ids, int32_t image_token_id,
    absl::Span<const std::array<int64_t, 2>> merged_grids);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_MROPE_POSITIONS_H_
