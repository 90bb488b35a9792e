#include "services/inference/engine/backends/cuda/sampling.h"

#include <curand_kernel.h>

#include <cmath>

#include "services/inference/engine/backends/cuda/device_math.cuh"

namespace cai::inference::cuda {
namespace {

constexpr int kThreads = 1024;
constexpr uint32_t kOneBits = 0x3f800000u;  // 1.0f: the largest weight exp((l - max) / T)

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

// Count and mass of the weights >= threshold, summed over the block.
__device__ void KeptStats(const float* row, int vocab, float max, float inv_t, float threshold, float* scratch,
                          float* count, float* mass) {
  float c = 0.0f, s = 0.0f;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float w = expf((row[i] - max) * inv_t);
    if (w >= threshold) c += 1.0f, s += w;
  }
  *count = BlockSum(c, scratch);
  *mass = BlockSum(s, scratch);
}

// The filters keep every token whose weight is at least a threshold; each filter raises it. Top-k
// and top-p find theirs by bisecting the float's bits (weights are in [0, 1], where the bit
// patterns order like the values), so no sort is needed.
__global__ void SampleKernel(int32_t* out, const float* logits, const DeviceSamplingParams* all_params, int vocab) {
  __shared__ float scratch[32];
  __shared__ float chunk_mass[kThreads];
  __shared__ int chosen;
  const DeviceSamplingParams p = all_params[blockIdx.x];
  const float* row = logits + static_cast<size_t>(blockIdx.x) * vocab;
  const ArgMax best = BlockArgmax(row, vocab);
  if (p.temperature <= 0.0f || !isfinite(best.value)) {
    if (threadIdx.x == 0) out[blockIdx.x] = best.index;
    return;
  }
  const float inv_t = 1.0f / p.temperature;
  float threshold = p.min_p > 0.0f ? p.min_p : 0.0f;  // min_p * p_max, and the max weight is 1
  float count, mass;
  if (p.top_k > 0 && p.top_k < vocab) {
    uint32_t lo = 0, hi = kOneBits + 1;  // largest bits with count(w >= bits) >= k
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      KeptStats(row, vocab, best.value, inv_t, __uint_as_float(mid), scratch, &count, &mass);
      if (count >= static_cast<float>(p.top_k)) lo = mid; else hi = mid;
    }
    threshold = fmaxf(threshold, __uint_as_float(lo));
  }
  if (p.top_p < 1.0f) {
    KeptStats(row, vocab, best.value, inv_t, threshold, scratch, &count, &mass);
    const float target = p.top_p * mass;
    uint32_t lo = __float_as_uint(threshold), hi = kOneBits + 1;  // largest with mass >= target
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      float c, s;
      KeptStats(row, vocab, best.value, inv_t, __uint_as_float(mid), scratch, &c, &s);
      if (s >= target) lo = mid; else hi = mid;
    }
    threshold = __uint_as_float(lo);
  }

  // Draw: each thread owns a contiguous chunk of ids; a scan of the chunk masses finds the owner
  // of u, which walks its chunk. Rounding that leaves u past the end falls back to the argmax.
  const int chunk = (vocab + kThreads - 1) / kThreads;
  const int begin = threadIdx.x * chunk, end = min(vocab, begin + chunk);
  float own = 0.0f;
  for (int i = begin; i < end; ++i) {
    const float w = expf((row[i] - best.value) * inv_t);
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
    u = (1.0f - curand_uniform(&state)) * total;  // [0, total)
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
    for (int i = begin; i < end; ++i) {
      const float w = expf((row[i] - best.value) * inv_t);
      if (w < threshold) continue;
      acc += w;
      if (u < acc) {
        chosen = i;
        break;
      }
    }
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
                         cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  SampleKernel<<<rows, kThreads, 0, stream>>>(out, logits, params, vocab);
  return cudaGetLastError();
}

}  // namespace cai::inference::cuda
