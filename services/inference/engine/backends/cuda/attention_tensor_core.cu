// Tiled (prefill) attention on tensor cores for BF16 caches: one warp per (head, query tile), the
// products on mma.sync m16n8k16 (BF16 in, F32 accumulate), the online softmax in F32 on the
// accumulator fragments, FlashAttention-2 style. The same contract as the CUDA-core kernel
// (attention.h, LaunchTiledAttention), with queries and softmax weights rounded to BF16 for the
// products.
#include "services/inference/engine/backends/cuda/attention.h"

#include <cmath>

#include "services/inference/engine/backends/cuda/dependent_launch.cuh"
#include "services/inference/engine/backends/cuda/device_math.cuh"

namespace cai::inference::cuda {
namespace {

static_assert(kQueryTile == 16 && kKvBlockSize == 16, "one m16 tile of queries, one k16 step of keys per block");

// Two floats as a BF16 pair, the first in the low half (the lower column of a fragment).
__device__ __forceinline__ uint32_t PackBf16(float lo, float hi) {
  return static_cast<uint32_t>(ToBf16(lo)) | (static_cast<uint32_t>(ToBf16(hi)) << 16);
}

// d += a (16 x 16, row-major fragment) x b (16 x 8, column-major fragment). For lane = 4 g + t:
//   a[0]: row g, cols 2t, 2t+1    a[1]: row g+8, cols 2t, 2t+1
//   a[2]: row g, cols 2t+8, 2t+9  a[3]: row g+8, cols 2t+8, 2t+9
//   b0: rows 2t, 2t+1 of col g    b1: rows 2t+8, 2t+9 of col g
//   d[0], d[1]: row g, cols 2t, 2t+1    d[2], d[3]: row g+8, cols 2t, 2t+1
__device__ __forceinline__ void Mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Lane 4 g + t owns query rows g and g + 8 of the tile (half 0 and 1) and, in each score
// fragment, keys 8 n + 2 t and 8 n + 2 t + 1 of the KV block (n = 0, 1). Keys come straight from
// the cache as the products' B fragments (two adjacent dims of one key per register); values are
// staged in shared memory, since a B fragment of V pairs two keys of one dim. A row's max and sum
// are taken over its quad (lanes 4 g .. 4 g + 3: GroupMax<4>, GroupSum<4>).
template <int kHeadDim>
__global__ void __launch_bounds__(32)
    TensorCoreTiledAttentionKernel(const uint16_t* __restrict__ k_cache, const uint16_t* __restrict__ v_cache,
                                   AttentionBatch b, const int32_t* __restrict__ tiles, AttentionShape s) {
  AwaitPreviousKernel();
  constexpr int kSteps = kHeadDim / 16;    // k16 steps over the dims of q . k
  constexpr int kDimTiles = kHeadDim / 8;  // n8 tiles over the dims of the output
  constexpr int kRowWords = (kHeadDim + 8) / 2;  // a staged value row, padded against bank conflicts
  __shared__ uint32_t vs[kKvBlockSize * kRowWords];
  const int lane = threadIdx.x, g = lane / 4, t = lane % 4;
  const int h = blockIdx.x, first_token = tiles[2 * blockIdx.y], count = tiles[2 * blockIdx.y + 1];
  const int kv_head = h / (s.heads / s.kv_heads);
  const int p0 = b.positions[first_token], last = p0 + count - 1;
  const int32_t* table = b.block_tables + static_cast<size_t>(b.seq_of_token[first_token]) * b.max_blocks_per_seq;

  // The tile's queries as A fragments, kept for the whole kernel; rows past `count` are zeros.
  const float* q_row[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = g + 8 * half;
    q_row[half] = r < count ? b.q + static_cast<size_t>(first_token + r) * b.q_stride + h * kHeadDim : nullptr;
  }
  auto q_pair = [&](int half, int col) {
    return q_row[half] != nullptr ? PackBf16(q_row[half][col], q_row[half][col + 1]) : 0u;
  };
  uint32_t qa[kSteps][4];
#pragma unroll
  for (int k = 0; k < kSteps; ++k) {
    const int col = 16 * k + 2 * t;
    qa[k][0] = q_pair(0, col);
    qa[k][1] = q_pair(1, col);
    qa[k][2] = q_pair(0, col + 8);
    qa[k][3] = q_pair(1, col + 8);
  }

  float o[kDimTiles][4];
#pragma unroll
  for (int j = 0; j < kDimTiles; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  const int first = s.window > 0 && p0 - s.window + 1 > 0 ? p0 - s.window + 1 : 0;  // the tile's earliest key

  for (int block = first / kKvBlockSize; block <= last / kKvBlockSize; ++block) {
    const size_t base = (static_cast<size_t>(table[block]) * s.kv_heads + kv_head) * kKvBlockSize * kHeadDim;
    // Slots past the tile's last position are not written yet and may hold NaN, which a zero
    // weight would not cancel: they are read as zeros.
    const uint32_t* v_words = reinterpret_cast<const uint32_t*>(v_cache + base);
    __syncwarp();  // the previous block's values are consumed
    for (int i = lane; i < kKvBlockSize * kHeadDim / 2; i += 32) {
      const int key = i / (kHeadDim / 2);
      vs[key * kRowWords + i % (kHeadDim / 2)] = block * kKvBlockSize + key <= last ? v_words[i] : 0u;
    }

    // Scores of the 16 queries by the block's 16 keys, two n8 fragments.
    float sc[2][4];
#pragma unroll
    for (int n = 0; n < 2; ++n) {
      sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
      const int key = 8 * n + g;  // the B fragment's column
      const bool written = block * kKvBlockSize + key <= last;
      const uint32_t* k_words = reinterpret_cast<const uint32_t*>(k_cache + base + key * kHeadDim);
#pragma unroll
      for (int k = 0; k < kSteps; ++k) {
        const uint32_t b0 = written ? k_words[8 * k + t] : 0u, b1 = written ? k_words[8 * k + 4 + t] : 0u;
        Mma(sc[n], qa[k], b0, b1);
      }
    }
    // Masks, scale and softcap; then the online softmax per row, its max and sum over the quad.
    float row_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < 2; ++n) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int half = i / 2, r = g + 8 * half, pos = p0 + r;
        const int key_pos = block * kKvBlockSize + 8 * n + 2 * t + i % 2;
        const bool visible = r < count && key_pos <= pos && (s.window <= 0 || key_pos > pos - s.window);
        const float scaled = sc[n][i] * s.scale;
        sc[n][i] = !visible ? -INFINITY : (s.softcap > 0 ? s.softcap * tanhf(scaled / s.softcap) : scaled);
        row_max[half] = fmaxf(row_max[half], sc[n][i]);
      }
    }
    float correction[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float m_new = fmaxf(m[half], GroupMax<4>(row_max[half]));
      // A row that has seen no visible key yet keeps m = -inf and adds nothing.
      correction[half] = m_new == -INFINITY ? 1.0f : expf(m[half] - m_new);
      float sum = 0.0f;
#pragma unroll
      for (int n = 0; n < 2; ++n) {
#pragma unroll
        for (int i = 2 * half; i < 2 * half + 2; ++i) {
          sc[n][i] = m_new == -INFINITY ? 0.0f : expf(sc[n][i] - m_new);
          sum += sc[n][i];
        }
      }
      l[half] = l[half] * correction[half] + GroupSum<4>(sum);
      m[half] = m_new;
    }
    // The weights as the A fragment of P x V: the two score fragments are its key columns 0-7
    // and 8-15, in exactly the A layout.
    const uint32_t pa[4] = {PackBf16(sc[0][0], sc[0][1]), PackBf16(sc[0][2], sc[0][3]), PackBf16(sc[1][0], sc[1][1]),
                            PackBf16(sc[1][2], sc[1][3])};
    __syncwarp();  // the staged values are visible to every lane
    const uint16_t* v_halves = reinterpret_cast<const uint16_t*>(vs);
#pragma unroll
    for (int j = 0; j < kDimTiles; ++j) {
      o[j][0] *= correction[0], o[j][1] *= correction[0];
      o[j][2] *= correction[1], o[j][3] *= correction[1];
      const int dim = 8 * j + g;  // the B fragment's column; its rows are keys
      auto v_pair = [&](int key) {
        return static_cast<uint32_t>(v_halves[key * 2 * kRowWords + dim]) |
               (static_cast<uint32_t>(v_halves[(key + 1) * 2 * kRowWords + dim]) << 16);
      };
      Mma(o[j], pa, v_pair(2 * t), v_pair(2 * t + 8));
    }
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int r = g + 8 * half;
    if (r >= count) continue;
    float* out = b.out + static_cast<size_t>(first_token + r) * b.out_stride + h * kHeadDim;
#pragma unroll
    for (int j = 0; j < kDimTiles; ++j) {
      out[8 * j + 2 * t] = o[j][2 * half] / l[half];
      out[8 * j + 2 * t + 1] = o[j][2 * half + 1] / l[half];
    }
  }
}

}  // namespace

bool TensorCoreAttentionFits(const PagedKv& cache) {
  return cache.dtype == DType::kBF16 && (cache.head_dim == 64 || cache.head_dim == 128);
}

cudaError_t LaunchTensorCoreTiledAttention(const PagedKv& cache, const AttentionBatch& batch, const int32_t* tiles,
                                           int num_tiles, const AttentionShape& shape, cudaStream_t stream) {
  if (num_tiles == 0) return cudaSuccess;
  if (!TensorCoreAttentionFits(cache) || !ValidAttentionShape(shape) || shape.head_dim != cache.head_dim) {
    return cudaErrorInvalidValue;
  }
  const dim3 grid(static_cast<unsigned>(shape.heads), static_cast<unsigned>(num_tiles));
  const auto* k = static_cast<const uint16_t*>(cache.k);
  const auto* v = static_cast<const uint16_t*>(cache.v);
  return LaunchDependent(shape.head_dim == 64 ? TensorCoreTiledAttentionKernel<64> : TensorCoreTiledAttentionKernel<128>,
                         grid, 32, 0, stream, k, v, batch, tiles, shape);
}

}  // namespace cai::inference::cuda
