#pragma once

// Small device helpers shared by the .cu files of this backend.
#include <cstdint>

namespace cai::inference::cuda {

// Sum and max over each aligned group of kLanes consecutive lanes (a power of two up to 32),
// returned to every lane of the group: a warp, a tiled-attention row of 8 lanes, an mma quad of 4.
template <int kLanes>
__device__ __forceinline__ float GroupSum(float v) {
  for (int offset = kLanes / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <int kLanes>
__device__ __forceinline__ float GroupMax(float v) {
  for (int offset = kLanes / 2; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

__device__ __forceinline__ float WarpSum(float v) { return GroupSum<32>(v); }

// Sum over the whole block, returned to every thread. `scratch` holds 32 floats in shared memory;
// the leading barrier lets callers reuse it back to back.
__device__ __forceinline__ float BlockSum(float v, float* scratch) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = (blockDim.x + 31) / 32;
  v = WarpSum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  return WarpSum(lane < warps ? scratch[lane] : 0.0f);
}

// BlockSum of two values at once, each summed in BlockSum's order: one pair of barriers, not two.
__device__ __forceinline__ float2 BlockSum2(float a, float b, float2* scratch) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = (blockDim.x + 31) / 32;
  a = WarpSum(a);
  b = WarpSum(b);
  __syncthreads();
  if (lane == 0) scratch[warp] = make_float2(a, b);
  __syncthreads();
  const float2 w = lane < warps ? scratch[lane] : make_float2(0.0f, 0.0f);
  return make_float2(WarpSum(w.x), WarpSum(w.y));
}

__device__ __forceinline__ float ToFloat(float v) { return v; }
__device__ __forceinline__ float ToFloat(uint16_t bf16) { return __uint_as_float(static_cast<uint32_t>(bf16) << 16); }

// Round to nearest even, NaN kept a (quiet) NaN: the CPU engine's F32ToBf16.
__device__ __forceinline__ uint16_t ToBf16(float f) {
  uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

__device__ __forceinline__ void Store(float* p, float v) { *p = v; }
__device__ __forceinline__ void Store(uint16_t* p, float v) { *p = ToBf16(v); }

}  // namespace cai::inference::cuda
