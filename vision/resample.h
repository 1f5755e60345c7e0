// Bicubic resampling of 8-bit RGB images, bit for bit PIL's Image.resize(size, Image.BICUBIC)
// (Pillow's Resample.c): a Keys kernel with a = −0.5 whose support widens with the downscale
// factor (antialiasing), coefficients normalised per output pixel and quantised to 22 fractional
// bits, two separable passes (horizontal then vertical, or vertical first when the height
// shrinks much more than the width, as Pillow 13 orders them), each rounding and clipping to
// 8 bits. This is the resampler of transformers' PIL image-processor
// path (Qwen2VLImageProcessorPil); the torchvision path uses the same kernel on uint8 tensors and
// lands within a unit or two of it.
#ifndef TPSERVE_VISION_RESAMPLE_H_
#define TPSERVE_VISION_RESAMPLE_H_

#include <cstdint>

#include "vision/rgb_image.h"

namespace tpserve::vision {

// Resizes to out_width x out_height (both > 0). The same size returns a copy, as PIL does.
RgbImage ResizeBicubic(const RgbImage& in, int64_t out_width, int64_t out_height);

}  // namespace tpserve::vision

#endif  // TPSERVE_VISION_RESAMPLE_H_
