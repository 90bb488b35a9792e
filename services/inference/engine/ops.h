#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "services/inference/engine/thread_pool.h"

// The CPU kernels of a Llama forward pass, in float32 as Hugging Face computes them.
namespace cai::inference {

float Dot(const float* a, const float* b, size_t n);

// out = x / sqrt(mean(x^2) + eps) * weight, over n elements (out may alias x).
void RmsNorm(float* out, const float* x, const float* weight, size_t n, float eps);

// out[t][r] = sum_c w[r][c] * x[t][c] for t < tokens: an nn.Linear ([rows, cols] weight) applied
// to `tokens` row vectors, parallel over weight rows so each row is read once for all tokens.
void MatMul(float* out, const float* x, const float* w, size_t tokens, size_t rows, size_t cols,
            ThreadPool& pool);

// cos/sin of pos * inv_freq[i] for the head_dim/2 frequencies (angle rounded to float, like HF).
void RopeCosSin(std::span<const float> inv_freq, int64_t pos, float* cos, float* sin);

// Rotates each of `num_heads` consecutive heads of `vec` in place, pairing dimension i with
// i + head_dim/2 (HF rotate_half): x1' = x1*cos - x2*sin, x2' = x2*cos + x1*sin.
void ApplyRope(float* vec, size_t num_heads, size_t head_dim, const float* cos, const float* sin);

// In-place numerically stable softmax.
void Softmax(float* x, size_t n);

inline float Silu(float x) { return x / (1.0f + __builtin_expf(-x)); }

// One query head attending causally to `num_positions` cached positions: keys and values of
// position p start at k + p * kv_stride and v + p * kv_stride. `scores` holds num_positions floats.
void AttendHead(float* out, const float* q, const float* k, const float* v, size_t num_positions,
                size_t head_dim, size_t kv_stride, float* scores);

}  // namespace cai::inference
