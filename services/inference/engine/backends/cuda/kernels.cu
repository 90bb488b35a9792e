#include "services/inference/engine/backends/cuda/kernels.h"

#include <cmath>

#include <atomic>

#include "services/inference/engine/backends/cuda/dependent_launch.cuh"
#include "services/inference/engine/backends/cuda/device_math.cuh"

namespace cai::inference::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMatVecWarps = 8;  // rows per block

unsigned Blocks(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 * 16 ? blocks : 65535 * 16);
}

template <typename W>
__global__ void EmbedKernel(float* out, const int32_t* tokens, const W* table, int d, float scale) {
  const W* row = table + static_cast<size_t>(tokens[blockIdx.x]) * d;
  float* o = out + static_cast<size_t>(blockIdx.x) * d;
  for (int i = threadIdx.x; i < d; i += blockDim.x) o[i] = ToFloat(row[i]) * scale;
}

__global__ void AddRmsNormKernel(float* x, const float* delta, const float* delta_weight, float* out,
                                 const float* weight, int d, float eps) {
  AwaitPreviousKernel();
  __shared__ float scratch[32];
  const size_t offset = static_cast<size_t>(blockIdx.x) * d;
  x += offset;
  out += offset;
  if (delta != nullptr) {
    delta += offset;
    float delta_scale = 1.0f;
    if (delta_weight != nullptr) {
      float ss = 0.0f;
      for (int i = threadIdx.x; i < d; i += blockDim.x) ss += delta[i] * delta[i];
      delta_scale = 1.0f / sqrtf(BlockSum(ss, scratch) / d + eps);
    }
    // Each thread rereads only the elements it wrote, so no barrier is needed before the next pass.
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
      x[i] += delta_weight != nullptr ? delta_weight[i] * (delta[i] * delta_scale) : delta[i];
    }
  }
  float ss = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) ss += x[i] * x[i];
  const float scale = 1.0f / sqrtf(BlockSum(ss, scratch) / d + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) out[i] = weight[i] * (x[i] * scale);
}

__device__ __forceinline__ float Silu(float x) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float GeluTanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

// The one place the gating is computed, so the gated mat-vec and the GEMM path's kernel agree bit
// for bit.
__device__ __forceinline__ float Gate(float gate, float up, bool silu) {
  return (silu ? Silu(gate) : GeluTanh(gate)) * up;
}

__global__ void GatedActivationKernel(float* out, const float* gate_up, int64_t n, int ffn, bool silu) {
  AwaitPreviousKernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / ffn, c = i % ffn;
    out[i] = Gate(gate_up[t * 2 * ffn + c], gate_up[t * 2 * ffn + ffn + c], silu);
  }
}

__global__ void SoftcapKernel(float* x, int64_t n, float cap) {
  AwaitPreviousKernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    x[i] = cap * tanhf(x[i] / cap);
  }
}

__global__ void GatherRowsKernel(float* dst, const float* src, const int32_t* rows, int d) {
  AwaitPreviousKernel();
  const float* s = src + static_cast<size_t>(rows[blockIdx.x]) * d;
  float* o = dst + static_cast<size_t>(blockIdx.x) * d;
  for (int i = threadIdx.x; i < d; i += blockDim.x) o[i] = s[i];
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// 16 bytes of weights, widened: 8 BF16 or 4 F32. Streaming loads: each weight is read once per
// pass, so it should not displace the activations from the caches.
__device__ __forceinline__ void LoadWeights(const uint16_t* p, float (&w)[8]) {
  const uint4 u = __ldcs(reinterpret_cast<const uint4*>(p));
  const uint32_t words[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    w[2 * k] = __uint_as_float(words[k] << 16);
    w[2 * k + 1] = __uint_as_float(words[k] & 0xffff0000u);
  }
}
__device__ __forceinline__ void LoadWeights(const float* p, float (&w)[4]) {
  const float4 v = __ldcs(reinterpret_cast<const float4*>(p));
  w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
}

// One warp per output row; each lane reads 16 bytes per step, the warp 512 contiguous bytes.
// Up to kTokens activation rows share each weight load. The kernel is instantiated for 1, 2, 4 and
// kMatVecTokens tokens, so a batch-1 decode holds one accumulator, not eight: fewer registers, more
// warps per SM, more loads in flight. Each token's sum runs in the same order whatever kTokens is,
// so a token's result does not depend on the others in its pass. `vectorised` (host-checked): cols
// is a multiple of the vector width and w, x are 16-byte aligned; otherwise scalar loads.
// kGated: w holds 2 x rows rows (gate rows, then up rows); the warp of output row r reads gate row r
// and up row r in the same loop (each sum in the plain kernel's order) and writes Gate(gate, up).
template <typename W, int kTokens, bool kGated>
__global__ void __launch_bounds__(kMatVecWarps * 32)
    MatVecKernel(float* __restrict__ out, int out_stride, const float* __restrict__ x, int num_tokens,
                 const W* __restrict__ w, int rows, int cols, bool vectorised, bool silu) {
  AwaitPreviousKernel();
  constexpr int kElems = 16 / sizeof(W);
  constexpr int kParts = kGated ? 2 : 1;  // weight rows per output row
  const int lane = threadIdx.x % 32;
  const int row = blockIdx.x * kMatVecWarps + threadIdx.x / 32;
  if (row >= rows) return;
  const W* wr[kParts];
#pragma unroll
  for (int part = 0; part < kParts; ++part) wr[part] = w + (static_cast<size_t>(part) * rows + row) * cols;
  float acc[kParts][kTokens] = {};
  if (vectorised) {
#pragma unroll 4
    for (int c = lane * kElems; c < cols; c += 32 * kElems) {
#pragma unroll
      for (int part = 0; part < kParts; ++part) {
        float wv[kElems];
        LoadWeights(wr[part] + c, wv);
#pragma unroll
        for (int t = 0; t < kTokens; ++t) {  // guarded, not broken out of: acc stays in registers
          if (t < num_tokens) {
            const float* xt = x + static_cast<size_t>(t) * cols + c;
#pragma unroll
            for (int e = 0; e < kElems; e += 4) {
              const float4 xv = *reinterpret_cast<const float4*>(xt + e);
              acc[part][t] += wv[e] * xv.x + wv[e + 1] * xv.y + wv[e + 2] * xv.z + wv[e + 3] * xv.w;
            }
          }
        }
      }
    }
  } else {
    for (int c = lane; c < cols; c += 32) {
#pragma unroll
      for (int part = 0; part < kParts; ++part) {
        const float wc = ToFloat(wr[part][c]);
#pragma unroll
        for (int t = 0; t < kTokens; ++t) {
          if (t < num_tokens) acc[part][t] += wc * x[static_cast<size_t>(t) * cols + c];
        }
      }
    }
  }
#pragma unroll
  for (int t = 0; t < kTokens; ++t) {
    if (t < num_tokens) {
      float sum = WarpSum(acc[0][t]);
      if constexpr (kGated) sum = Gate(sum, WarpSum(acc[kParts - 1][t]), silu);
      if (lane == 0) out[static_cast<size_t>(t) * out_stride + row] = sum;
    }
  }
}

// One pass over the weights for n <= kMatVecTokens tokens, with the smallest instantiation that
// holds them.
template <bool kGated, typename W>
cudaError_t LaunchMatVecPass(unsigned blocks, cudaStream_t stream, float* out, int out_stride, const float* x, int n,
                      const W* w, int rows, int cols, bool vectorised, bool silu) {
  auto kernel = n == 1 ? MatVecKernel<W, 1, kGated>
                : n == 2 ? MatVecKernel<W, 2, kGated>
                : n <= 4 ? MatVecKernel<W, 4, kGated>
                         : MatVecKernel<W, kMatVecTokens, kGated>;
  return LaunchDependent(kernel, blocks, kMatVecWarps * 32, 0, stream, out, out_stride, x, n, w, rows, cols,
                         vectorised, silu);
}

// Passes of kMatVecTokens tokens over `rows` output rows (of w's rows when plain, half when gated).
template <bool kGated>
cudaError_t LaunchMatVecPasses(float* out, int out_stride, const float* x, int num_tokens, const DeviceMatrix& w,
                               int rows, bool silu, cudaStream_t stream) {
  const int cols = static_cast<int>(w.cols);
  const bool bf16 = w.dtype == DType::kBF16;
  const bool vectorised = cols % (bf16 ? 8 : 4) == 0 && Aligned16(w.data) && Aligned16(x);
  const unsigned blocks = static_cast<unsigned>((rows + kMatVecWarps - 1) / kMatVecWarps);
  for (int t = 0; t < num_tokens; t += kMatVecTokens) {
    const int n = num_tokens - t < kMatVecTokens ? num_tokens - t : kMatVecTokens;
    const float* xt = x + static_cast<size_t>(t) * cols;
    float* ot = out + static_cast<size_t>(t) * out_stride;
    const cudaError_t e =
        bf16 ? LaunchMatVecPass<kGated>(blocks, stream, ot, out_stride, xt, n, static_cast<const uint16_t*>(w.data),
                                        rows, cols, vectorised, silu)
             : LaunchMatVecPass<kGated>(blocks, stream, ot, out_stride, xt, n, static_cast<const float*>(w.data), rows,
                                        cols, vectorised, silu);
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

__global__ void ToBf16Kernel(uint16_t* dst, const float* src, int64_t n) {
  AwaitPreviousKernel();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    dst[i] = ToBf16(src[i]);
  }
}

__global__ void CopyKernel(uint4* __restrict__ dst, const uint4* __restrict__ src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    dst[i] = __ldcs(src + i);
  }
}

__global__ void FillRandomBf16Kernel(uint16_t* dst, int64_t n, float scale, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    uint64_t z = seed + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull;  // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float u = static_cast<float>(z >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    dst[i] = ToBf16((2.0f * u - 1.0f) * scale);
  }
}

std::atomic<bool> programmatic_launch{true};

}  // namespace

bool ProgrammaticLaunch() { return programmatic_launch.load(std::memory_order_relaxed); }
void SetProgrammaticLaunch(bool on) { programmatic_launch.store(on, std::memory_order_relaxed); }

cudaError_t LaunchEmbed(float* out, const int32_t* tokens, int num_tokens, const DeviceMatrix& table, float scale,
                        cudaStream_t stream) {
  if (num_tokens == 0) return cudaSuccess;
  const int d = static_cast<int>(table.cols);
  if (table.dtype == DType::kBF16) {
    EmbedKernel<<<num_tokens, kThreads, 0, stream>>>(out, tokens, static_cast<const uint16_t*>(table.data), d, scale);
  } else {
    EmbedKernel<<<num_tokens, kThreads, 0, stream>>>(out, tokens, static_cast<const float*>(table.data), d, scale);
  }
  return cudaGetLastError();
}

cudaError_t LaunchAddRmsNorm(float* x, const float* delta, const float* delta_weight, float* out,
                             const float* weight, int rows, int d, float eps, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  const int threads = d >= 4096 ? 1024 : (d >= 1024 ? 512 : 128);
  return LaunchDependent(AddRmsNormKernel, rows, threads, 0, stream, x, delta, delta_weight, out, weight, d, eps);
}

cudaError_t LaunchGatedActivation(float* out, const float* gate_up, int num_tokens, int ffn, Activation activation,
                                  cudaStream_t stream) {
  const int64_t n = int64_t{num_tokens} * ffn;
  if (n == 0) return cudaSuccess;
  return LaunchDependent(GatedActivationKernel, Blocks(n), kThreads, 0, stream, out, gate_up, n, ffn,
                         activation == Activation::kSilu);
}

cudaError_t LaunchSoftcap(float* x, int64_t n, float cap, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return LaunchDependent(SoftcapKernel, Blocks(n), kThreads, 0, stream, x, n, cap);
}

cudaError_t LaunchGatherRows(float* dst, const float* src, const int32_t* rows, int n, int d, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return LaunchDependent(GatherRowsKernel, n, kThreads, 0, stream, dst, src, rows, d);
}

cudaError_t LaunchMatVec(float* out, int out_stride, const float* x, int num_tokens, const DeviceMatrix& w,
                         cudaStream_t stream) {
  return LaunchMatVecPasses<false>(out, out_stride, x, num_tokens, w, static_cast<int>(w.rows), false, stream);
}

cudaError_t LaunchGatedMatVec(float* out, int out_stride, const float* x, int num_tokens,
                              const DeviceMatrix& gate_up, Activation activation, cudaStream_t stream) {
  if (gate_up.rows % 2 != 0) return cudaErrorInvalidValue;
  return LaunchMatVecPasses<true>(out, out_stride, x, num_tokens, gate_up, static_cast<int>(gate_up.rows / 2),
                                  activation == Activation::kSilu, stream);
}

cudaError_t LaunchToBf16(uint16_t* dst, const float* src, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return LaunchDependent(ToBf16Kernel, Blocks(n), kThreads, 0, stream, dst, src, n);
}

cudaError_t LaunchCopy(void* dst, const void* src, int64_t n16, cudaStream_t stream) {
  if (n16 == 0) return cudaSuccess;
  CopyKernel<<<Blocks(n16), kThreads, 0, stream>>>(static_cast<uint4*>(dst), static_cast<const uint4*>(src), n16);
  return cudaGetLastError();
}

cudaError_t LaunchFillRandomBf16(uint16_t* dst, int64_t n, float scale, uint64_t seed, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  FillRandomBf16Kernel<<<Blocks(n), kThreads, 0, stream>>>(dst, n, scale, seed);
  return cudaGetLastError();
}

}  // namespace cai::inference::cuda
