// Element types and conversions shared by every module (no device code).
#ifndef TPSERVE_OPS_BASE_DTYPE_H_
#define TPSERVE_OPS_BASE_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tpserve {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kI32,
  kI64,
  kU8,
};

// Bytes per element.
constexpr size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kI64:
      return 8;
    case DType::kU8:
      return 1;
  }
  return 0;
}

// "f32", "f16", "bf16", "i32", "i64", "u8".
std::string_view DTypeName(DType dtype);

// bfloat16 <-> float. bf16 -> f32 is exact; f32 -> bf16 rounds to nearest even (NaN stays NaN),
// matching torch's `.to(torch.bfloat16)`.
inline float Bf16ToF32(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

inline uint16_t F32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding_bias) >> 16);
}

// IEEE half <-> float (exact for f16 -> f32; round to nearest even for f32 -> f16).
float F16ToF32(uint16_t bits);
uint16_t F32ToF16(float f);

}  // namespace tpserve

#endif  // TPSERVE_OPS_BASE_DTYPE_H_
