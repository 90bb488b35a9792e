#include "services/inference/engine/backends/cuda/sampling.h"

#include <curand_kernel.h>

#include <cmath>

#include "services/inference/engine/backends/cuda/device_math.cuh"
#include "services/inference/engine/backends/cuda/sampling_threshold.h"

namespace cai::inference::cuda {
namespace {

constexpr int kThreads = 1024;

struct ArgMax {
  float value;
  int index;
};

__device__ __forceinline__ ArgMax Better(ArgMax a, ArgMax b) {
  if (b.value > a.value || (b.value == a.value && b.index < a.index)) return b;
  return a;
}

// Block-wide argmax of row, lowest index on ties; every thread gets the result.
__device__ ArgMax BlockArgmax(const float* row, int vocab) {
  __shared__ ArgMax warp_best[32];
  ArgMax best{-INFINITY, vocab};
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) best = Better(best, ArgMax{row[i], i});
  for (int offset = 16; offset > 0; offset >>= 1) {
    ArgMax other{__shfl_xor_sync(0xffffffffu, best.value, offset), __shfl_xor_sync(0xffffffffu, best.index, offset)};
    best = Better(best, other);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) warp_best[warp] = best;
  __syncthreads();
  best = ArgMax{-INFINITY, vocab};
  for (int w = 0; w < warps; ++w) best = Better(best, warp_best[w]);
  if (best.index == vocab) best.index = 0;  // a row of NaNs: token 0 rather than out of range
  return best;
}

__global__ void ApplyLogitEditsKernel(float* logits, int vocab, const LogitEdit* edits, int count) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const LogitEdit e = edits[i];
  float& logit = logits[static_cast<size_t>(e.row) * vocab + e.id];
  logit = (logit + e.bias) - e.penalty;
}

// A thread's count and mass, summed over the block.
__device__ KeptStats BlockKept(float count, float mass, float2* scratch) {
  const float2 sums = BlockSum2(count, mass, scratch);
  KeptStats stats;
  stats.count = sums.x;
  stats.mass = sums.y;
  return stats;
}

// Count and mass of the weights >= threshold, summed over the block.
__device__ KeptStats BlockKeptStats(const float* row, int vocab, float max, float inv_t, float threshold,
                                    float2* scratch) {
  float c = 0.0f, s = 0.0f;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float w = expf((row[i] - max) * inv_t);
    if (w >= threshold) c += 1.0f, s += w;
  }
  return BlockKept(c, s, scratch);
}

// Exclusive prefix sum of `v` over the block, in thread order; every thread also gets the total.
// `warp_totals` holds 32 ints in shared memory; the leading barrier lets callers reuse it.
__device__ int BlockExclusiveScan(int v, int* warp_totals, int& total) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
  int inclusive = v;
  for (int offset = 1; offset < 32; offset <<= 1) {
    const int before = __shfl_up_sync(0xffffffffu, inclusive, offset);
    if (lane >= offset) inclusive += before;
  }
  __syncthreads();
  if (lane == 31) warp_totals[warp] = inclusive;
  __syncthreads();
  int warp_offset = 0;
  total = 0;
  for (int w = 0; w < warps; ++w) {
    if (w < warp) warp_offset += warp_totals[w];
    total += warp_totals[w];
  }
  return warp_offset + inclusive - v;
}

// The filters (min_p, top_k, top_p) as one weight threshold (sampling_threshold.h), then a draw
// among the weights at or above it. Each thread owns a contiguous chunk of ids for the gathering
// of top-p's candidates (in id order, so their sums do not depend on timing) and for the draw.
__global__ void SampleKernel(int32_t* out, const float* logits, const DeviceSamplingParams* all_params, int vocab,
                             SampleTrace* trace) {
  __shared__ float2 pair_scratch[32];
  __shared__ int warp_totals[32];
  __shared__ float chunk_mass[kThreads];
  __shared__ float candidates[kMaxSampleCandidates];
  __shared__ int chosen;
  const DeviceSamplingParams p = all_params[blockIdx.x];
  const float* row = logits + static_cast<size_t>(blockIdx.x) * vocab;
  const ArgMax best = BlockArgmax(row, vocab);
  if (p.temperature <= 0.0f || !isfinite(best.value)) {
    if (threadIdx.x == 0) out[blockIdx.x] = best.index;
    return;
  }
  const float inv_t = 1.0f / p.temperature;
  const int chunk = (vocab + kThreads - 1) / kThreads;
  const int begin = threadIdx.x * chunk, end = min(vocab, begin + chunk);
  auto weight = [&](int i) { return expf((row[i] - best.value) * inv_t); };
  int gathered = -1;  // weights in `candidates` once top-p narrowed to them; -1: the whole row
  const float threshold = KeepThreshold(
      p, vocab,
      [&](float t) {
        if (gathered < 0) return BlockKeptStats(row, vocab, best.value, inv_t, t, pair_scratch);
        float c = 0.0f, s = 0.0f;
        for (int i = threadIdx.x; i < gathered; i += blockDim.x) {
          if (candidates[i] >= t) c += 1.0f, s += candidates[i];
        }
        return BlockKept(c, s, pair_scratch);
      },
      [&](float floor) {
        int own = 0, total = 0;
        for (int i = begin; i < end; ++i) own += weight(i) >= floor ? 1 : 0;
        int at = BlockExclusiveScan(own, warp_totals, total);
        if (total > kMaxSampleCandidates) return;  // every thread sees the same total
        for (int i = begin; i < end; ++i) {
          const float w = weight(i);
          if (w >= floor) candidates[at++] = w;
        }
        gathered = total;
        __syncthreads();
      });
  if (trace != nullptr && threadIdx.x == 0) trace[blockIdx.x] = SampleTrace{threshold, gathered};

  // Draw: a scan of the chunk masses finds the owner of u, which walks its chunk (the scan and the
  // owner test use the same float additions, so exactly one thread owns u). `chosen` starts as the
  // argmax for a row with no mass at all.
  float own = 0.0f;
  for (int i = begin; i < end; ++i) {
    const float w = weight(i);
    if (w >= threshold) own += w;
  }
  chunk_mass[threadIdx.x] = own;
  if (threadIdx.x == 0) chosen = best.index;
  __syncthreads();
  __shared__ float u;
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int i = 0; i < kThreads; ++i) total += chunk_mass[i];
    curandStatePhilox4_32_10_t state;
    curand_init(p.seed, 0, p.step, &state);
    // curand_uniform is in (0, 1]; below 2^-25 the difference rounds to 1, so u is kept below total.
    u = fminf((1.0f - curand_uniform(&state)) * total, nextafterf(total, 0.0f));  // [0, total)
    float prefix = 0.0f;  // the scan, serial: 1024 adds, once per row
    for (int i = 0; i < kThreads; ++i) {
      const float next = prefix + chunk_mass[i];
      chunk_mass[i] = prefix;
      prefix = next;
    }
  }
  __syncthreads();
  float acc = chunk_mass[threadIdx.x];
  if (own > 0.0f && u >= acc && u < acc + own) {
    // The walk adds onto the prefix, where `own` was summed from 0: rounding can leave u just past
    // the walk's end, and then the chunk's last drawable token, the one u is nearest, is taken.
    int last = -1;
    for (int i = begin; i < end; ++i) {
      const float w = weight(i);
      if (w < threshold || w == 0.0f) continue;
      last = i;
      acc += w;
      if (u < acc) break;
    }
    chosen = last;
  }
  __syncthreads();
  if (threadIdx.x == 0) out[blockIdx.x] = chosen;
}

}  // namespace

cudaError_t LaunchApplyLogitEdits(float* logits, int vocab, const LogitEdit* edits, int count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  ApplyLogitEditsKernel<<<(count + 255) / 256, 256, 0, stream>>>(logits, vocab, edits, count);
  return cudaGetLastError();
}

cudaError_t LaunchSample(int32_t* out, const float* logits, const DeviceSamplingParams* params, int rows, int vocab,
                         cudaStream_t stream, SampleTrace* trace) {
  if (rows == 0) return cudaSuccess;
  SampleKernel<<<rows, kThreads, 0, stream>>>(out, logits, params, vocab, trace);
  return cudaGetLastError();
}

}  // namespace cai::inference::cuda
