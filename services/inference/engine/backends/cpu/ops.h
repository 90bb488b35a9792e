#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "services/inference/engine/backends/cpu/thread_pool.h"
#include "services/inference/engine/backends/cpu/weight_matrix.h"

// The CPU kernels of a decoder forward pass, in float32 as Hugging Face computes them.
namespace cai::inference {

float Dot(const float* a, const float* b, size_t n);

// out = x / sqrt(mean(x^2) + eps) * weight, over n elements (out may alias x). Gemma's (1 + w)
// is folded into `weight` at load.
void RmsNorm(float* out, const float* x, const float* weight, size_t n, float eps);

// out[t * out_stride + r] = sum_c w[r][c] * x[t * w.cols() + c] for t < tokens, r < w.rows(): an
// nn.Linear applied to `tokens` row vectors, parallel over weight rows so each row is read once
// for all tokens (a batched decode step costs about one weight read, not one per sequence).
// Every token's result has the same bits whatever `tokens` is. `out_stride` lets several
// projections fill one wider row (q | k | v).
void MatMul(float* out, size_t out_stride, const float* x, size_t tokens, const WeightMatrix& w, ThreadPool& pool);
// The same with a borrowed F32 [rows, cols] matrix and out_stride = rows.
void MatMul(float* out, const float* x, const float* w, size_t tokens, size_t rows, size_t cols,
            ThreadPool& pool);

// cos/sin of pos * inv_freq[i] for the head_dim/2 frequencies (angle rounded to float, like HF).
void RopeCosSin(std::span<const float> inv_freq, int64_t pos, float* cos, float* sin);

// Rotates each of `num_heads` heads of `vec` (consecutive, head_dim apart) in place, pairing
// dimension i with i + head_dim/2 (HF rotate_half): x1' = x1*cos - x2*sin, x2' = x2*cos + x1*sin.
void ApplyRope(float* vec, size_t num_heads, size_t head_dim, const float* cos, const float* sin);

// In-place numerically stable softmax.
void Softmax(float* x, size_t n);

inline float Silu(float x) { return x / (1.0f + std::exp(-x)); }
// gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline float GeluTanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}
// cap * tanh(x / cap): Gemma 2's soft cap on attention scores and logits.
inline float SoftCap(float x, float cap) { return cap * std::tanh(x / cap); }

struct AttentionParams {
  float scale = 1;    // multiplies q·k
  float softcap = 0;  // 0: no cap
};

// One query head attending to `num_positions` visible cached positions: keys and values of the
// i-th start at k + i * kv_stride and v + i * kv_stride. `scores` holds num_positions floats.
void AttendHead(float* out, const float* q, const float* k, const float* v, size_t num_positions,
                size_t head_dim, size_t kv_stride, const AttentionParams& params, float* scores);

// Cached keys and values in blocks: position p is row p % block_positions of block
// table[p / block_positions]; rows are kv_stride floats apart, blocks block_positions rows apart.
// `k` and `v` already point at the head's first element of block 0.
struct KvBlocks {
  const float* k = nullptr;
  const float* v = nullptr;
  std::span<const int32_t> table;
  size_t block_positions = 0;
  size_t kv_stride = 0;
};

// AttendHead over positions [first, end) of `kv`, with the same arithmetic in the same order.
void AttendHeadBlocks(float* out, const float* q, const KvBlocks& kv, size_t first, size_t end, size_t head_dim,
                      const AttentionParams& params, float* scores);

}  // namespace cai::inference
