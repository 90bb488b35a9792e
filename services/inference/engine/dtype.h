#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace cai::inference {

// Element types of checkpoint tensors the engine can read. Everything is widened to F32 at load.
enum class DType { kF32, kF16, kBF16 };

size_t DTypeSize(DType dtype);
std::string_view DTypeName(DType dtype);           // "F32", "F16", "BF16" (safetensors spelling)
std::optional<DType> ParseDType(std::string_view name);

// Inline: the CPU kernels widen weights with it in their inner loops.
inline float Bf16ToF32(uint16_t bits) {
  const uint32_t widened = uint32_t{bits} << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}
float F16ToF32(uint16_t bits);
uint16_t F32ToBf16(float value);  // round to nearest even; NaN stays NaN

// Widens `count` little-endian elements of `dtype` from `bytes` (unaligned is fine) into `out`.
void ConvertToF32(DType dtype, const uint8_t* bytes, size_t count, float* out);

}  // namespace cai::inference
