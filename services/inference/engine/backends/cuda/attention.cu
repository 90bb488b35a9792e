#include "services/inference/engine/backends/cuda/attention.h"

#include <cmath>

#include "services/inference/engine/backends/cuda/device_math.cuh"

namespace cai::inference::cuda {
namespace {

constexpr int kAttentionWarps = 4;
constexpr int kMaxPerLane = kMaxHeadDim / 32;

__device__ __forceinline__ size_t SlotBase(int slot, int kv_head, int kv_heads, int head_dim) {
  const size_t block = static_cast<size_t>(slot / kKvBlockSize), offset = slot % kKvBlockSize;
  return ((block * kv_heads + kv_head) * kKvBlockSize + offset) * head_dim;
}

template <typename T>
__global__ void KvWriteKernel(T* k_cache, T* v_cache, const float* qkv, int stride, int k_offset, int v_offset,
                              const int32_t* slots, int kv_heads, int head_dim) {
  const float* row = qkv + static_cast<size_t>(blockIdx.x) * stride;
  const int slot = slots[blockIdx.x];
  for (int i = threadIdx.x; i < kv_heads * head_dim; i += blockDim.x) {
    const size_t at = SlotBase(slot, i / head_dim, kv_heads, head_dim) + i % head_dim;
    Store(k_cache + at, row[k_offset + i]);
    Store(v_cache + at, row[v_offset + i]);
  }
}

// Block (head, token): each warp takes every kAttentionWarps-th visible key, keeping a running
// max m, normaliser l and output acc (lane holds dims lane + 32 j); the warps merge at the end.
template <typename T>
__global__ void __launch_bounds__(kAttentionWarps * 32)
    PagedAttentionKernel(const T* __restrict__ k_cache, const T* __restrict__ v_cache, AttentionBatch b,
                         AttentionShape s) {
  __shared__ float warp_m[kAttentionWarps], warp_l[kAttentionWarps];
  __shared__ float warp_acc[kAttentionWarps][kMaxHeadDim];
  const int h = blockIdx.x, t = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int kv_head = h / (s.heads / s.kv_heads), per_lane = s.head_dim / 32;
  const int pos = b.positions[t];
  const int first = s.window > 0 && pos - s.window + 1 > 0 ? pos - s.window + 1 : 0;
  const int32_t* table = b.block_tables + static_cast<size_t>(b.seq_of_token[t]) * b.max_blocks_per_seq;

  float q[kMaxPerLane], acc[kMaxPerLane];
  const float* qh = b.q + static_cast<size_t>(t) * b.q_stride + h * s.head_dim;
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    q[j] = j < per_lane ? qh[lane + 32 * j] : 0.0f;
    acc[j] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int p = first + warp; p <= pos; p += kAttentionWarps) {
    const int slot = table[p / kKvBlockSize] * kKvBlockSize + p % kKvBlockSize;
    const size_t base = SlotBase(slot, kv_head, s.kv_heads, s.head_dim) + lane;
    float dot = 0.0f;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) {
      if (j < per_lane) dot += q[j] * ToFloat(k_cache[base + 32 * j]);
    }
    float score = WarpSum(dot) * s.scale;
    if (s.softcap > 0) score = s.softcap * tanhf(score / s.softcap);
    const float m_new = fmaxf(m, score);
    const float correction = expf(m - m_new), weight = expf(score - m_new);
    l = l * correction + weight;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) {
      if (j < per_lane) acc[j] = acc[j] * correction + weight * ToFloat(v_cache[base + 32 * j]);
    }
    m = m_new;
  }
  if (lane == 0) {
    warp_m[warp] = m;
    warp_l[warp] = l;
  }
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    if (j < per_lane) warp_acc[warp][lane + 32 * j] = acc[j];
  }
  __syncthreads();
  if (warp != 0) return;
  float m_all = -INFINITY;
  for (int w = 0; w < kAttentionWarps; ++w) m_all = fmaxf(m_all, warp_m[w]);
  float scale[kAttentionWarps], l_all = 0.0f;
  for (int w = 0; w < kAttentionWarps; ++w) {
    scale[w] = warp_l[w] > 0.0f ? expf(warp_m[w] - m_all) : 0.0f;  // a warp with no keys adds nothing
    l_all += warp_l[w] * scale[w];
  }
  float* out = b.out + static_cast<size_t>(t) * b.out_stride + h * s.head_dim;
  for (int i = lane; i < s.head_dim; i += 32) {
    float o = 0.0f;
    for (int w = 0; w < kAttentionWarps; ++w) o += warp_acc[w][i] * scale[w];
    out[i] = o / l_all;
  }
}

}  // namespace

cudaError_t LaunchKvWrite(const PagedKv& cache, const float* qkv, int stride, int k_offset, int v_offset,
                          const int32_t* slots, int num_tokens, cudaStream_t stream) {
  if (num_tokens == 0) return cudaSuccess;
  if (cache.dtype == DType::kBF16) {
    KvWriteKernel<<<num_tokens, 256, 0, stream>>>(static_cast<uint16_t*>(cache.k), static_cast<uint16_t*>(cache.v),
                                                  qkv, stride, k_offset, v_offset, slots, cache.kv_heads,
                                                  cache.head_dim);
  } else {
    KvWriteKernel<<<num_tokens, 256, 0, stream>>>(static_cast<float*>(cache.k), static_cast<float*>(cache.v), qkv,
                                                  stride, k_offset, v_offset, slots, cache.kv_heads, cache.head_dim);
  }
  return cudaGetLastError();
}

cudaError_t LaunchPagedAttention(const PagedKv& cache, const AttentionBatch& batch, const AttentionShape& shape,
                                 cudaStream_t stream) {
  if (batch.num_tokens == 0) return cudaSuccess;
  if (shape.head_dim % 32 != 0 || shape.head_dim > kMaxHeadDim || shape.kv_heads <= 0 ||
      shape.heads % shape.kv_heads != 0) {
    return cudaErrorInvalidValue;
  }
  const dim3 grid(static_cast<unsigned>(shape.heads), static_cast<unsigned>(batch.num_tokens));
  if (cache.dtype == DType::kBF16) {
    PagedAttentionKernel<<<grid, kAttentionWarps * 32, 0, stream>>>(
        static_cast<const uint16_t*>(cache.k), static_cast<const uint16_t*>(cache.v), batch, shape);
  } else {
    PagedAttentionKernel<<<grid, kAttentionWarps * 32, 0, stream>>>(static_cast<const float*>(cache.k),
                                                                    static_cast<const float*>(cache.v), batch, shape);
  }
  return cudaGetLastError();
}

}  // namespace cai::inference::cuda
