#include "services/inference/engine/backends/cuda/attention.h"

#include <cmath>

#include "services/inference/engine/backends/cuda/dependent_launch.cuh"
#include "services/inference/engine/backends/cuda/device_math.cuh"

namespace cai::inference::cuda {
namespace {

// A decode launches heads x batch blocks, only 32 for Llama 3.1 8B at batch 1, and a warp walks
// its keys one dependent step (load, warp sum, exp) at a time: more warps per block put more keys
// in flight. To be tuned on hardware (bench/cuda_decode at several contexts).
constexpr int kAttentionWarps = 16;
constexpr int kMaxPerLane = kMaxHeadDim / 32;
constexpr int kKeysPerStep = 4;

__device__ __forceinline__ size_t SlotBase(int slot, int kv_head, int kv_heads, int head_dim) {
  const size_t block = static_cast<size_t>(slot / kKvBlockSize), offset = slot % kKvBlockSize;
  return ((block * kv_heads + kv_head) * kKvBlockSize + offset) * head_dim;
}

// Block per token; thread j rotates pair (j % half, j % half + half) of head j / half.
template <typename T>
__global__ void RopeKvWriteKernel(float* qkv, int stride, int heads, const int32_t* positions, const float* inv_freq,
                                  T* k_cache, T* v_cache, const int32_t* slots, int kv_heads, int head_dim) {
  AwaitPreviousKernel();
  const int half = head_dim / 2;
  float* row = qkv + static_cast<size_t>(blockIdx.x) * stride;
  const float pos = static_cast<float>(positions[blockIdx.x]);
  const int slot = slots[blockIdx.x];
  // A thread keeps the same pair index i across heads whenever half divides blockDim (every real
  // head size): its angle, a double sincos, is worked out once rather than once per head.
  int angle_of = -1;
  float cf = 1.0f, sf = 0.0f;
  for (int j = threadIdx.x; j < (heads + kv_heads) * half; j += blockDim.x) {
    const int h = j / half, i = j % half;
    if (i != angle_of) {
      double s, c;
      sincos(static_cast<double>(inv_freq[i] * pos), &s, &c);
      cf = static_cast<float>(c), sf = static_cast<float>(s);
      angle_of = i;
    }
    float* v = row + h * head_dim;
    const float x1 = v[i], x2 = v[i + half];
    const float y1 = x1 * cf - x2 * sf, y2 = x2 * cf + x1 * sf;
    v[i] = y1;
    v[i + half] = y2;
    if (h >= heads) {
      T* k = k_cache + SlotBase(slot, h - heads, kv_heads, head_dim);
      Store(k + i, y1);
      Store(k + i + half, y2);
    }
  }
  const float* values = row + (heads + kv_heads) * head_dim;
  for (int i = threadIdx.x; i < kv_heads * head_dim; i += blockDim.x) {
    Store(v_cache + SlotBase(slot, i / head_dim, kv_heads, head_dim) + i % head_dim, values[i]);
  }
}

// Block (head, token, partition): the warps take turns over the partition's keys, kKeysPerStep at
// a time, each keeping a running max m, normaliser l and output acc (lane holds dims lane + 32 j
// below head_dim; a head_dim that is not a multiple of 32 leaves the last lanes idle); the warps
// merge at the end. With one partition (gridDim.z == 1) the block writes the output; with several,
// its partial softmax (m, l and the unnormalised acc) goes to `partials` for MergePartitionsKernel.
template <typename T>
__global__ void __launch_bounds__(kAttentionWarps * 32)
    PagedAttentionKernel(const T* __restrict__ k_cache, const T* __restrict__ v_cache, AttentionBatch b,
                         AttentionShape s, float* __restrict__ partials) {
  AwaitPreviousKernel();
  __shared__ float warp_m[kAttentionWarps], warp_l[kAttentionWarps];
  __shared__ float warp_acc[kAttentionWarps][kMaxHeadDim];
  const int h = blockIdx.x, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int t = b.token_index != nullptr ? b.token_index[blockIdx.y] : static_cast<int>(blockIdx.y);
  const int kv_head = h / (s.heads / s.kv_heads);
  const int pos = b.positions[t];
  const int first = s.window > 0 && pos - s.window + 1 > 0 ? pos - s.window + 1 : 0;
  // This block's keys: partition blockIdx.z of equal ranges over first..pos (empty past the end).
  const int partitions = gridDim.z, span = (pos - first + partitions) / partitions;
  const int start = first + static_cast<int>(blockIdx.z) * span, end = min(pos, start + span - 1);
  const int32_t* table = b.block_tables + static_cast<size_t>(b.seq_of_token[t]) * b.max_blocks_per_seq;

  float q[kMaxPerLane], acc[kMaxPerLane];
  const float* qh = b.q + static_cast<size_t>(t) * b.q_stride + h * s.head_dim;
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    q[j] = lane + 32 * j < s.head_dim ? qh[lane + 32 * j] : 0.0f;
    acc[j] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  // kKeysPerStep consecutive keys per step, their loads and warp sums independent of each other,
  // so a warp has that many in flight instead of one.
  for (int p0 = start + warp * kKeysPerStep; p0 <= end; p0 += kAttentionWarps * kKeysPerStep) {
    size_t base[kKeysPerStep];
    float score[kKeysPerStep];
#pragma unroll
    for (int k = 0; k < kKeysPerStep; ++k) {
      const int p = min(p0 + k, end);  // past end: a harmless load, masked below
      const int slot = table[p / kKvBlockSize] * kKvBlockSize + p % kKvBlockSize;
      base[k] = SlotBase(slot, kv_head, s.kv_heads, s.head_dim) + lane;
      float dot = 0.0f;
#pragma unroll
      for (int j = 0; j < kMaxPerLane; ++j) {
        if (lane + 32 * j < s.head_dim) dot += q[j] * ToFloat(k_cache[base[k] + 32 * j]);
      }
      score[k] = dot;
    }
    float m_new = m;
#pragma unroll
    for (int k = 0; k < kKeysPerStep; ++k) {
      float sc = WarpSum(score[k]) * s.scale;
      if (s.softcap > 0) sc = s.softcap * tanhf(sc / s.softcap);
      score[k] = p0 + k <= end ? sc : -INFINITY;
      m_new = fmaxf(m_new, score[k]);
    }
    // p0 <= end, so m_new is finite; a first step turns m = -inf into a correction of 0.
    const float correction = expf(m - m_new);
    float weight[kKeysPerStep], sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kKeysPerStep; ++k) {
      weight[k] = expf(score[k] - m_new);  // 0 for a masked key
      sum += weight[k];
    }
    l = l * correction + sum;
#pragma unroll
    for (int j = 0; j < kMaxPerLane; ++j) {
      if (lane + 32 * j >= s.head_dim) continue;
      float a = acc[j] * correction;
#pragma unroll
      for (int k = 0; k < kKeysPerStep; ++k) a += weight[k] * ToFloat(v_cache[base[k] + 32 * j]);
      acc[j] = a;
    }
    m = m_new;
  }
  if (lane == 0) {
    warp_m[warp] = m;
    warp_l[warp] = l;
  }
#pragma unroll
  for (int j = 0; j < kMaxPerLane; ++j) {
    if (lane + 32 * j < s.head_dim) warp_acc[warp][lane + 32 * j] = acc[j];
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
  if (partials == nullptr) {
    float* out = b.out + static_cast<size_t>(t) * b.out_stride + h * s.head_dim;
    for (int i = lane; i < s.head_dim; i += 32) {
      float o = 0.0f;
      for (int w = 0; w < kAttentionWarps; ++w) o += warp_acc[w][i] * scale[w];
      out[i] = o / l_all;
    }
    return;
  }
  // An empty partition leaves m = -inf, l = 0 and acc = 0, which the merge skips.
  const size_t part = (static_cast<size_t>(blockIdx.y) * s.heads + h) * partitions + blockIdx.z;
  float* ml = partials + 2 * part;
  float* acc_out = partials + 2 * static_cast<size_t>(gridDim.y) * s.heads * partitions + part * s.head_dim;
  if (lane == 0) ml[0] = m_all, ml[1] = l_all;
  for (int i = lane; i < s.head_dim; i += 32) {
    float o = 0.0f;
    for (int w = 0; w < kAttentionWarps; ++w) o += warp_acc[w][i] * scale[w];
    acc_out[i] = o;
  }
}

// Block (head, token): the partitions' partial softmaxes rescaled to their common max and summed.
__global__ void MergePartitionsKernel(const float* __restrict__ partials, AttentionBatch b, AttentionShape s,
                                      int partitions) {
  AwaitPreviousKernel();
  const int h = blockIdx.x;
  const int t = b.token_index != nullptr ? b.token_index[blockIdx.y] : static_cast<int>(blockIdx.y);
  const size_t first_part = (static_cast<size_t>(blockIdx.y) * s.heads + h) * partitions;
  const float* ml = partials + 2 * first_part;
  const float* acc = partials + 2 * static_cast<size_t>(gridDim.y) * s.heads * partitions + first_part * s.head_dim;
  float m_all = -INFINITY;
  for (int z = 0; z < partitions; ++z) {
    if (ml[2 * z + 1] > 0.0f) m_all = fmaxf(m_all, ml[2 * z]);
  }
  float l_all = 0.0f;
  for (int z = 0; z < partitions; ++z) {
    if (ml[2 * z + 1] > 0.0f) l_all += ml[2 * z + 1] * expf(ml[2 * z] - m_all);
  }
  float* out = b.out + static_cast<size_t>(t) * b.out_stride + h * s.head_dim;
  for (int i = threadIdx.x; i < s.head_dim; i += blockDim.x) {
    float o = 0.0f;
    for (int z = 0; z < partitions; ++z) {
      if (ml[2 * z + 1] > 0.0f) o += acc[static_cast<size_t>(z) * s.head_dim + i] * expf(ml[2 * z] - m_all);
    }
    out[i] = o / l_all;
  }
}

// Tiled attention: 8 threads per query row of the tile. Thread (row, sub) scores keys sub and
// sub + 8 of each staged key block and accumulates output dims sub + 8 j; the row's running max
// and normaliser are kept, identical, by its 8 threads (consecutive lanes of one warp).
constexpr int kThreadsPerRow = 8;
constexpr int kTiledThreads = kQueryTile * kThreadsPerRow;
constexpr int kDimsPerThread = kMaxHeadDim / kThreadsPerRow;
static_assert(kKvBlockSize == 2 * kThreadsPerRow, "each thread scores two keys of a block");

// Shared memory: queries and keys with one float of padding per row (the score loop reads them
// down columns), values, and the row's weights of the current block.
__host__ __device__ constexpr int TiledSharedFloats(int head_dim) {
  return kQueryTile * (head_dim + 1) + kKvBlockSize * (head_dim + 1) + kKvBlockSize * head_dim +
         kQueryTile * (kKvBlockSize + 1);
}

template <typename T>
__global__ void __launch_bounds__(kTiledThreads)
    TiledAttentionKernel(const T* __restrict__ k_cache, const T* __restrict__ v_cache, AttentionBatch b,
                         const int32_t* __restrict__ tiles, AttentionShape s) {
  AwaitPreviousKernel();
  extern __shared__ float shared[];
  const int hd = s.head_dim, padded = hd + 1;
  float* qs = shared;                              // [kQueryTile][hd + 1]
  float* ks = qs + kQueryTile * padded;            // [kKvBlockSize][hd + 1]
  float* vs = ks + kKvBlockSize * padded;          // [kKvBlockSize][hd]
  float* ps = vs + kKvBlockSize * hd;              // [kQueryTile][kKvBlockSize + 1]
  const int h = blockIdx.x, first_token = tiles[2 * blockIdx.y], count = tiles[2 * blockIdx.y + 1];
  const int kv_head = h / (s.heads / s.kv_heads), per_thread = hd / kThreadsPerRow;
  const int row = threadIdx.x / kThreadsPerRow, sub = threadIdx.x % kThreadsPerRow;
  const int p0 = b.positions[first_token], last = p0 + count - 1;
  const int32_t* table = b.block_tables + static_cast<size_t>(b.seq_of_token[first_token]) * b.max_blocks_per_seq;

  for (int i = threadIdx.x; i < kQueryTile * hd; i += blockDim.x) {
    const int r = i / hd, d = i % hd;
    qs[r * padded + d] = r < count ? b.q[static_cast<size_t>(first_token + r) * b.q_stride + h * hd + d] : 0.0f;
  }
  const bool active = row < count;
  const int pos = p0 + row;
  const int first = s.window > 0 && p0 - s.window + 1 > 0 ? p0 - s.window + 1 : 0;  // the tile's earliest key
  float acc[kDimsPerThread];
#pragma unroll
  for (int j = 0; j < kDimsPerThread; ++j) acc[j] = 0.0f;
  float m = -INFINITY, l = 0.0f;

  for (int block = first / kKvBlockSize; block <= last / kKvBlockSize; ++block) {
    __syncthreads();  // the previous block's keys, values and weights are consumed (and the queries staged)
    const size_t base = (static_cast<size_t>(table[block]) * s.kv_heads + kv_head) * kKvBlockSize * hd;
    for (int i = threadIdx.x; i < kKvBlockSize * hd; i += blockDim.x) {
      // Slots past the tile's last position are not written yet and may hold anything, NaN
      // included, which a zero weight would not cancel (0 x NaN): stage zeros there.
      const bool written = block * kKvBlockSize + i / hd <= last;
      ks[(i / hd) * padded + i % hd] = written ? ToFloat(k_cache[base + i]) : 0.0f;
      vs[i] = written ? ToFloat(v_cache[base + i]) : 0.0f;
    }
    __syncthreads();

    // Both keys' dot products in one pass, so each query element read from shared memory serves
    // two products (the loop is bound by shared-memory reads, not by the multiplies).
    const float* q_row = qs + row * padded;
    const float* k0 = ks + sub * padded;
    const float* k1 = ks + (sub + kThreadsPerRow) * padded;
    float dot[2] = {0.0f, 0.0f};
    for (int d = 0; d < hd; ++d) {
      const float q = q_row[d];
      dot[0] += q * k0[d];
      dot[1] += q * k1[d];
    }
    float score[2];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int key_pos = block * kKvBlockSize + sub + kThreadsPerRow * j;
      const bool visible = active && key_pos <= pos && (s.window <= 0 || key_pos > pos - s.window);
      const float scaled = dot[j] * s.scale;
      score[j] = !visible ? -INFINITY : (s.softcap > 0 ? s.softcap * tanhf(scaled / s.softcap) : scaled);
    }
    const float m_new = fmaxf(m, GroupMax<kThreadsPerRow>(fmaxf(score[0], score[1])));
    // A row that has seen no visible key yet keeps m = -inf and adds nothing.
    const float correction = m_new == -INFINITY ? 1.0f : expf(m - m_new);
    const float w0 = m_new == -INFINITY ? 0.0f : expf(score[0] - m_new);
    const float w1 = m_new == -INFINITY ? 0.0f : expf(score[1] - m_new);
    l = l * correction + GroupSum<kThreadsPerRow>(w0 + w1);
    m = m_new;
    ps[row * (kKvBlockSize + 1) + sub] = w0;
    ps[row * (kKvBlockSize + 1) + sub + kThreadsPerRow] = w1;
    __syncwarp();  // a row's weights are written and read by its own 8 lanes
#pragma unroll
    for (int j = 0; j < kDimsPerThread; ++j) acc[j] *= correction;
    for (int key = 0; key < kKvBlockSize; ++key) {
      const float p = ps[row * (kKvBlockSize + 1) + key];
#pragma unroll
      for (int j = 0; j < kDimsPerThread; ++j) {
        if (j < per_thread) acc[j] += p * vs[key * hd + sub + kThreadsPerRow * j];
      }
    }
  }
  if (!active) return;
  float* out = b.out + static_cast<size_t>(first_token + row) * b.out_stride + h * hd;
#pragma unroll
  for (int j = 0; j < kDimsPerThread; ++j) {
    if (j < per_thread) out[sub + kThreadsPerRow * j] = acc[j] / l;
  }
}

template <typename T>
cudaError_t LaunchTiled(const T* k, const T* v, const AttentionBatch& batch, const int32_t* tiles, int num_tiles,
                        const AttentionShape& shape, cudaStream_t stream) {
  const size_t bytes = static_cast<size_t>(TiledSharedFloats(shape.head_dim)) * sizeof(float);
  const dim3 grid(static_cast<unsigned>(shape.heads), static_cast<unsigned>(num_tiles));
  return LaunchDependent(TiledAttentionKernel<T>, grid, kTiledThreads, bytes, stream, k, v, batch, tiles, shape);
}

}  // namespace

cudaError_t LaunchRopeKvWrite(float* qkv, int stride, int heads, const int32_t* positions, const float* inv_freq,
                              const PagedKv& cache, const int32_t* slots, int num_tokens, cudaStream_t stream) {
  if (num_tokens == 0) return cudaSuccess;
  if (!ValidHeadDim(cache.head_dim) || heads <= 0 || cache.kv_heads <= 0) return cudaErrorInvalidValue;
  if (cache.dtype == DType::kBF16) {
    return LaunchDependent(RopeKvWriteKernel<uint16_t>, num_tokens, 256, 0, stream, qkv, stride, heads, positions,
                           inv_freq, static_cast<uint16_t*>(cache.k), static_cast<uint16_t*>(cache.v), slots,
                           cache.kv_heads, cache.head_dim);
  }
  return LaunchDependent(RopeKvWriteKernel<float>, num_tokens, 256, 0, stream, qkv, stride, heads, positions, inv_freq,
                         static_cast<float*>(cache.k), static_cast<float*>(cache.v), slots, cache.kv_heads,
                         cache.head_dim);
}

cudaError_t PrepareAttention(int head_dim) {
  // Above 48 KiB (head_dim 256: ~49 KiB) a kernel must opt in to more dynamic shared memory.
  const int bytes = TiledSharedFloats(head_dim) * static_cast<int>(sizeof(float));
  if (bytes <= 48 * 1024) return cudaSuccess;
  constexpr cudaFuncAttribute kLimit = cudaFuncAttributeMaxDynamicSharedMemorySize;
  if (cudaError_t e = cudaFuncSetAttribute(TiledAttentionKernel<float>, kLimit, bytes); e != cudaSuccess) return e;
  return cudaFuncSetAttribute(TiledAttentionKernel<uint16_t>, kLimit, bytes);
}

size_t PagedAttentionScratchFloats(int num_tokens, int heads, int head_dim, int partitions) {
  return partitions <= 1 ? 0 : static_cast<size_t>(num_tokens) * heads * partitions * (2 + head_dim);
}

cudaError_t LaunchPagedAttention(const PagedKv& cache, const AttentionBatch& batch, const AttentionShape& shape,
                                 cudaStream_t stream, const DecodeSplit& split) {
  if (batch.num_tokens == 0) return cudaSuccess;
  if (!ValidAttentionShape(shape) || split.partitions < 1 || split.partitions > kMaxDecodePartitions ||
      (split.partitions > 1 && split.scratch == nullptr)) {
    return cudaErrorInvalidValue;
  }
  const dim3 grid(static_cast<unsigned>(shape.heads), static_cast<unsigned>(batch.num_tokens),
                  static_cast<unsigned>(split.partitions));
  float* partials = split.partitions > 1 ? split.scratch : nullptr;
  const cudaError_t e =
      cache.dtype == DType::kBF16
          ? LaunchDependent(PagedAttentionKernel<uint16_t>, grid, kAttentionWarps * 32, 0, stream,
                            static_cast<const uint16_t*>(cache.k), static_cast<const uint16_t*>(cache.v), batch, shape,
                            partials)
          : LaunchDependent(PagedAttentionKernel<float>, grid, kAttentionWarps * 32, 0, stream,
                            static_cast<const float*>(cache.k), static_cast<const float*>(cache.v), batch, shape,
                            partials);
  if (partials == nullptr || e != cudaSuccess) return e;
  return LaunchDependent(MergePartitionsKernel, dim3(grid.x, grid.y), 128, 0, stream, partials, batch, shape,
                         split.partitions);
}

cudaError_t LaunchTiledAttention(const PagedKv& cache, const AttentionBatch& batch, const int32_t* tiles,
                                 int num_tiles, const AttentionShape& shape, cudaStream_t stream) {
  if (num_tiles == 0) return cudaSuccess;
  if (!ValidAttentionShape(shape)) return cudaErrorInvalidValue;
  if (cache.dtype == DType::kBF16) {
    return LaunchTiled(static_cast<const uint16_t*>(cache.k), static_cast<const uint16_t*>(cache.v), batch, tiles,
                       num_tiles, shape, stream);
  }
  return LaunchTiled(static_cast<const float*>(cache.k), static_cast<const float*>(cache.v), batch, tiles, num_tiles,
                     shape, stream);
}

}  // namespace cai::inference::cuda
