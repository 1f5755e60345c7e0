#include "vision/patch_positions.h"

#include <algorithm>
#include <cmath>

namespace tpserve::vision {
namespace {

// Calls f(row, col) for every patch of `g` in merge-window order, frame by frame.
template <typename F>
void ForEachPatch(const ImageGrid& g, F f) {
  const int64_t m = g.merge;
  for (int64_t t = 0; t < g.t; ++t)
    for (int64_t br = 0; br < g.h / m; ++br)
      for (int64_t bc = 0; bc < g.w / m; ++bc)
        for (int64_t ir = 0; ir < m; ++ir)
          for (int64_t ic = 0; ic < m; ++ic) f(br * m + ir, bc * m + ic);
}

struct Taps {
  int64_t i0, i1;
  float w0, w1;
};

// transformers' _interpolation_axis_taps_weights, bilinear, align_corners, in f32.
Taps AxisTaps(int64_t index, int64_t size, int64_t side) {
  const float src = static_cast<float>(index) * static_cast<float>(side - 1) /
                    static_cast<float>(std::max<int64_t>(size - 1, 1));
  const float fl = std::floor(src);
  const int64_t base = static_cast<int64_t>(fl);
  Taps t;
  t.i0 = std::clamp<int64_t>(base, 0, side - 1);
  t.i1 = std::clamp<int64_t>(base + 1, 0, side - 1);
  t.w0 = std::max(0.0f, 1.0f - std::abs(src - fl));
  t.w1 = std::max(0.0f, 1.0f - std::abs(src - fl - 1.0f));
  return t;
}

}  // namespace

std::vector<int32_t> RotaryPositions(absl::Span<const ImageGrid> grids) {
  std::vector<int32_t> out;
  for (const ImageGrid& g : grids) {
    ForEachPatch(g, [&](int64_t r, int64_t c) {
      out.push_back(static_cast<int32_t>(r));
      out.push_back(static_cast<int32_t>(c));
    });
  }
  return out;
}

std::vector<float> InterpolatePositionEmbedding(absl::Span<const ImageGrid> grids,
                                                const float* table, int64_t side, int64_t hidden) {
  int64_t total = 0;
  for (const ImageGrid& g : grids) total += g.num_patches();
  std::vector<float> out(static_cast<size_t>(total * hidden));
  float* dst = out.data();
  for (const ImageGrid& g : grids) {
    ForEachPatch(g, [&](int64_t r, int64_t c) {
      const Taps y = AxisTaps(r, g.h, side), x = AxisTaps(c, g.w, side);
      const float* rows[4] = {
          table + (y.i0 * side + x.i0) * hidden, table + (y.i0 * side + x.i1) * hidden,
          table + (y.i1 * side + x.i0) * hidden, table + (y.i1 * side + x.i1) * hidden};
      const float w[4] = {y.w0 * x.w0, y.w0 * x.w1, y.w1 * x.w0, y.w1 * x.w1};
      for (int64_t d = 0; d < hidden; ++d) {
        float acc = rows[0][d] * w[0];
        acc += rows[1][d] * w[1];
        acc += rows[2][d] * w[2];
        acc += rows[3][d] * w[3];
        dst[d] = acc;
      }
      dst += hidden;
    });
  }
  return out;
}

}  // namespace tpserve::vision
