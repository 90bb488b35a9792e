#include "services/inference/engine/ops.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "services/inference/engine/dot.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace cai::inference {
namespace {

#if defined(__x86_64__)
#define CAI_AVX2 __attribute__((target("avx2,fma")))

CAI_AVX2 inline __m256 Widen8(const uint16_t* p) {
  __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
}

CAI_AVX2 inline float Reduce(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  __m128 p = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(p, _mm_movehdup_ps(p)));
}

// DotBf16 of one row with two activation vectors at once: each weight chunk is widened once and
// used twice. Per vector, the accumulators, the reduction and the tail are DotBf16's own, so
// the two results carry exactly DotBf16's bits.
CAI_AVX2 void DotBf16Pair(const uint16_t* w, const float* x0, const float* x1, size_t n, float* out0, float* out1) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 w0 = Widen8(w + i), w1 = Widen8(w + i + 8), w2 = Widen8(w + i + 16), w3 = Widen8(w + i + 24);
    a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + i), a0);
    b0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x1 + i), b0);
    a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x0 + i + 8), a1);
    b1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x1 + i + 8), b1);
    a2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x0 + i + 16), a2);
    b2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x1 + i + 16), b2);
    a3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x0 + i + 24), a3);
    b3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x1 + i + 24), b3);
  }
  float sum0 = Reduce(a0, a1, a2, a3), sum1 = Reduce(b0, b1, b2, b3);
  for (; i < n; ++i) {
    const float wi = std::bit_cast<float>(uint32_t{w[i]} << 16);
    sum0 += wi * x0[i];
    sum1 += wi * x1[i];
  }
  *out0 = sum0;
  *out1 = sum1;
}

#undef CAI_AVX2
#endif

// A BF16 row against `tokens` activation vectors, DotBf16's bits for each.
void DotBf16Tokens(const uint16_t* w, const float* x, size_t tokens, size_t cols, float* out, size_t out_stride) {
  size_t t = 0;
#if defined(__x86_64__)
  if (internal::CpuHasAvx2Fma()) {
    for (; t + 2 <= tokens; t += 2) {
      DotBf16Pair(w, x + t * cols, x + (t + 1) * cols, cols, out + t * out_stride, out + (t + 1) * out_stride);
    }
  }
#endif
  for (; t < tokens; ++t) out[t * out_stride] = DotBf16(w, x + t * cols, cols);
}

}  // namespace

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
  const size_t cols = static_cast<size_t>(w.cols());
  pool.ParallelFor(static_cast<size_t>(w.rows()), [&](size_t begin, size_t end) {
    if (w.dtype() == DType::kF32) {
      for (size_t r = begin; r < end; ++r) {
        for (size_t t = 0; t < tokens; ++t) out[t * out_stride + r] = DotF32(w.f32_row(r), x + t * cols, cols);
      }
      return;
    }
    // BF16: a decode batch reads the row directly, once per token while it sits in L1 (the
    // kernel widens in registers); a long prefill widens it once for all tokens (same sums).
    constexpr size_t kWidenAbove = 32;
    std::vector<float> row(tokens > kWidenAbove ? cols : 0);
    for (size_t r = begin; r < end; ++r) {
      if (tokens <= kWidenAbove) {
        DotBf16Tokens(w.bf16_row(r), x, tokens, cols, out + r, out_stride);
        continue;
      }
      w.RowToF32(r, row.data());
      for (size_t t = 0; t < tokens; ++t) out[t * out_stride + r] = DotF32(row.data(), x + t * cols, cols);
    }
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
