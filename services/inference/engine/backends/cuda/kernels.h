#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "services/inference/engine/dtype.h"
#include "services/inference/engine/model_config.h"

// Launchers of the element-wise, normalisation and mat-vec kernels (kernels.cu). Activations are
// F32 row vectors; weights are F32 or BF16, always accumulated in F32. Every launcher only
// enqueues work on `stream` and returns the error of its own launch.
namespace cai::inference::cuda {

// A row-major [rows, cols] matrix in device memory, kF32 or kBF16.
struct DeviceMatrix {
  DType dtype = DType::kBF16;
  const void* data = nullptr;
  int64_t rows = 0, cols = 0;
};

// The kernels of a forward step after the embedding launch with programmatic dependent launch
// (dependent_launch.cuh): each may be scheduled while the previous one drains, and waits for it
// before touching memory. Process-wide, on by default; off for an operator's --gpu_programmatic_launch=false
// and the bench's comparison. Captured graphs keep the mode they were captured in. (The getter,
// for the launchers, is in dependent_launch.cuh.)
void SetProgrammaticLaunch(bool on);

// out[t] = table[tokens[t]] * scale (d = table.cols floats per token).
cudaError_t LaunchEmbed(float* out, const int32_t* tokens, int num_tokens, const DeviceMatrix& table, float scale,
                        cudaStream_t stream);

// For each of `rows` rows of d floats, fused:
//   if delta:  x += delta_weight ? RmsNorm(delta) * delta_weight : delta   (Gemma 2's post-norms)
//   out = RmsNorm(x) * weight
// One block per row. Gemma's (1 + w) is folded into the weights at load.
cudaError_t LaunchAddRmsNorm(float* x, const float* delta, const float* delta_weight, float* out,
                             const float* weight, int rows, int d, float eps, cudaStream_t stream);

// out[t][i] = act(gate_up[t][i]) * gate_up[t][ffn + i]: SiLU or GELU-tanh gating.
cudaError_t LaunchGatedActivation(float* out, const float* gate_up, int num_tokens, int ffn, Activation activation,
                                  cudaStream_t stream);

// x = cap * tanh(x / cap) over n floats.
cudaError_t LaunchSoftcap(float* x, int64_t n, float cap, cudaStream_t stream);

// Tokens one mat-vec pass reads each weight row for; more tokens take several passes.
inline constexpr int kMatVecTokens = 8;

// out[t * out_stride + r] = sum_c w[r][c] * x[t * w.cols + c]: the decode projection, built for
// HBM bandwidth (one warp per row, 16-byte streaming loads, warp-shuffle reduction). Any number of
// tokens; each group of kMatVecTokens reads the weights once.
cudaError_t LaunchMatVec(float* out, int out_stride, const float* x, int num_tokens, const DeviceMatrix& w,
                         cudaStream_t stream);

// out[t * out_stride + i] = act(gate_i . x[t]) * (up_i . x[t]), for gate_up = [gate rows; up rows]
// (2 x ffn rows): the decode's MLP gating in the mat-vec pass, without the gate/up round trip or a
// launch of its own. Equal, bit for bit, to LaunchMatVec into [gate | up] then LaunchGatedActivation.
cudaError_t LaunchGatedMatVec(float* out, int out_stride, const float* x, int num_tokens,
                              const DeviceMatrix& gate_up, Activation activation, cudaStream_t stream);

// dst[i] = src[rows[i]] for n rows of d floats: the tokens whose logits are wanted.
cudaError_t LaunchGatherRows(float* dst, const float* src, const int32_t* rows, int n, int d, cudaStream_t stream);

// dst[i] = bf16(src[i]): activations for a BF16 cuBLAS GEMM.
cudaError_t LaunchToBf16(uint16_t* dst, const float* src, int64_t n, cudaStream_t stream);

// Reads `src` and writes `dst` (n 16-byte words): the bandwidth reference of the benchmark.
cudaError_t LaunchCopy(void* dst, const void* src, int64_t n16, cudaStream_t stream);

// Fills n BF16 values with uniform(-scale, scale) from a hash of (seed, index): random weights.
cudaError_t LaunchFillRandomBf16(uint16_t* dst, int64_t n, float scale, uint64_t seed, cudaStream_t stream);

}  // namespace cai::inference::cuda
