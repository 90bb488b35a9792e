#include "services/inference/engine/backends/cpu/ops.h"

#include <algorithm>
#include <cmath>

#include "services/inference/engine/backends/cpu/dot.h"
#include "services/inference/engine/backends/cpu/matmul_bf16.h"

namespace cai::inference {

float Dot(const float* a, const float* b, size_t n) { return DotF32(a, b, n); }

void RmsNorm(float* out, const float* x, const float* weight, size_t n, float eps) {
  double sum_squares = 0;
  for (size_t i = 0; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  float variance = static_cast<float>(sum_squares / static_cast<double>(n));
  float scale = 1.0f / std::sqrt(variance + eps);
  for (size_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * scale);
}

void MatMul(float* out, size_t out_stride, const float* x, size_t tokens, const WeightMatrix& w,
            ThreadPool& pool) {
  const size_t rows = static_cast<size_t>(w.rows()), cols = static_cast<size_t>(w.cols());
  if (w.dtype() == DType::kF32) {
    pool.ParallelFor(rows, [&](size_t begin, size_t end) {
      for (size_t r = begin; r < end; ++r) {
        for (size_t t = 0; t < tokens; ++t) out[t * out_stride + r] = DotF32(w.f32_row(r), x + t * cols, cols);
      }
    });
    return;
  }
  // BF16, for decode batches and prefill alike: whole register blocks of rows per chunk.
  const size_t blocks = (rows + kBf16RowBlock - 1) / kBf16RowBlock;
  pool.ParallelFor(blocks, [&](size_t begin, size_t end) {
    MatMulBf16Rows(w.bf16_row(0), cols, begin * kBf16RowBlock, std::min(end * kBf16RowBlock, rows), x, tokens, out,
                   out_stride);
  });
}

void MatMul(float* out, const float* x, const float* w, size_t tokens, size_t rows, size_t cols,
            ThreadPool& pool) {
  MatMul(out, rows, x, tokens, WeightMatrix::Borrow(DType::kF32, w, rows, cols), pool);
}

void RopeCosSin(std::span<const float> inv_freq, int64_t pos, float* cos, float* sin) {
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    float angle = inv_freq[i] * static_cast<float>(pos);
    cos[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
    sin[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
  }
}

void ApplyRope(float* vec, size_t num_heads, size_t head_dim, const float* cos, const float* sin) {
  size_t half = head_dim / 2;
  for (size_t h = 0; h < num_heads; ++h) {
    float* x = vec + h * head_dim;
    for (size_t i = 0; i < half; ++i) {
      float x1 = x[i], x2 = x[i + half];
      x[i] = x1 * cos[i] - x2 * sin[i];
      x[i + half] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

void Softmax(float* x, size_t n) {
  if (n == 0) return;
  float max = *std::max_element(x, x + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  float inv = static_cast<float>(1.0 / sum);
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

void AttendHead(float* out, const float* q, const float* k, const float* v, size_t num_positions,
                size_t head_dim, size_t kv_stride, const AttentionParams& params, float* scores) {
  for (size_t p = 0; p < num_positions; ++p) {
    float s = Dot(q, k + p * kv_stride, head_dim) * params.scale;
    scores[p] = params.softcap > 0 ? SoftCap(s, params.softcap) : s;
  }
  Softmax(scores, num_positions);
  std::fill(out, out + head_dim, 0.0f);
  for (size_t p = 0; p < num_positions; ++p) {
    const float* vp = v + p * kv_stride;
    float s = scores[p];
    for (size_t i = 0; i < head_dim; ++i) out[i] += s * vp[i];
  }
}

void AttendHeadBlocks(float* out, const float* q, const KvBlocks& kv, size_t first, size_t end, size_t head_dim,
                      const AttentionParams& params, float* scores) {
  const size_t block_stride = kv.block_positions * kv.kv_stride;
  auto offset = [&](size_t p) {
    return static_cast<size_t>(kv.table[p / kv.block_positions]) * block_stride + (p % kv.block_positions) * kv.kv_stride;
  };
  const size_t n = end - first;
  for (size_t i = 0; i < n; ++i) {
    float s = Dot(q, kv.k + offset(first + i), head_dim) * params.scale;
    scores[i] = params.softcap > 0 ? SoftCap(s, params.softcap) : s;
  }
  Softmax(scores, n);
  std::fill(out, out + head_dim, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    const float* vp = kv.v + offset(first + i);
    float s = scores[i];
    for (size_t d = 0; d < head_dim; ++d) out[d] += s * vp[d];
  }
}

}  // namespace cai::inference
