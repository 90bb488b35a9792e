#include "services/inference/engine/backends/cpu/matmul_bf16.h"

#include "services/inference/engine/backends/cpu/dot.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 flags the AVX-512 intrinsics' own `__Y = __Y` placeholders once inlined (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif

#include "services/inference/engine/backends/cpu/avx2_bf16.h"

namespace cai::inference {
namespace internal {

bool CpuHasAvx512() {
#if defined(__x86_64__)
  static const bool has = CpuHasAvx2Fma() && __builtin_cpu_supports("avx512f");
  return has;
#else
  return false;
#endif
}

void MatMulBf16RowsScalar(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                          float* out, size_t out_stride) {
  for (size_t r = begin; r < end; ++r) {
    for (size_t t = 0; t < tokens; ++t) out[t * out_stride + r] = DotBf16Scalar(w + r * cols, x + t * cols, cols);
  }
}

#if defined(__x86_64__)
namespace {

// One row with two activation vectors: each weight chunk is widened once and used twice.
CAI_AVX2 void DotBf16Pair(const uint16_t* w, const float* x0, const float* x1, size_t n, float* out0, float* out1) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 w0 = Load8(w + i), w1 = Load8(w + i + 8), w2 = Load8(w + i + 16), w3 = Load8(w + i + 24);
    a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x0 + i), a0);
    b0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x1 + i), b0);
    a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x0 + i + 8), a1);
    b1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x1 + i + 8), b1);
    a2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x0 + i + 16), a2);
    b2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x1 + i + 16), b2);
    a3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x0 + i + 24), a3);
    b3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x1 + i + 24), b3);
  }
  float sum0 = ReduceAvx2(a0, a1, a2, a3), sum1 = ReduceAvx2(b0, b1, b2, b3);
  for (; i < n; ++i) {
    const float wi = Bf16ToF32(w[i]);
    sum0 += wi * x0[i];
    sum1 += wi * x1[i];
  }
  *out0 = sum0;
  *out1 = sum1;
}

// The AVX-512 kernel holds DotBf16Avx2's four 8-lane accumulators a0..a3 of one (row, token) as
// two 16-lane registers [a0 | a1] and [a2 | a3]: lane-wise FMAs give the same partial sums.
// Only AVX-512F instructions; AVX2 and FMA for the 256-bit reduction shared with DotBf16Pair.
#define CAI_AVX512 __attribute__((target("avx512f,avx2,fma")))

// 16 BF16 values widened to F32.
CAI_AVX512 inline __m512 Widen16(const uint16_t* p) {
  __m256i half = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
}

// The upper eight lanes (extractf32x8 would need AVX512DQ).
CAI_AVX512 inline __m256 Upper8(__m512 v) {
  return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

CAI_AVX512 inline float Reduce512(__m512 lo, __m512 hi) {
  return ReduceAvx2(_mm512_castps512_ps256(lo), Upper8(lo), _mm512_castps512_ps256(hi), Upper8(hi));
}

// kR rows [r, r + kR) times kT tokens [t, t + kT): 2 * kR * kT accumulators.
template <int kR, int kT>
CAI_AVX512 void Block512(const uint16_t* w, size_t cols, const float* x, float* out, size_t out_stride) {
  __m512 lo[kR][kT], hi[kR][kT];
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) lo[r][t] = hi[r][t] = _mm512_setzero_ps();
  }
  size_t i = 0;
  for (; i + 32 <= cols; i += 32) {
    // One half at a time, so only kR widened chunks are live next to the accumulators.
    __m512 wr[kR];
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) wr[r] = Widen16(w + r * cols + i);
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      const __m512 xt = _mm512_loadu_ps(x + t * cols + i);
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) lo[r][t] = _mm512_fmadd_ps(wr[r], xt, lo[r][t]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < kR; ++r) wr[r] = Widen16(w + r * cols + i + 16);
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      const __m512 xt = _mm512_loadu_ps(x + t * cols + i + 16);
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) hi[r][t] = _mm512_fmadd_ps(wr[r], xt, hi[r][t]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kR; ++r) {
#pragma GCC unroll 8
    for (int t = 0; t < kT; ++t) {
      float sum = Reduce512(lo[r][t], hi[r][t]);
      for (size_t j = i; j < cols; ++j) sum += Bf16ToF32(w[r * cols + j]) * x[t * cols + j];
      out[t * out_stride + r] = sum;
    }
  }
}

// 6 rows x 2 tokens: 24 accumulators, 6 widened chunks and 1 activation chunk in 31 of the 32 zmm
// registers. On Zen 4 it beat 2x4, 4x2, 3x4, 4x3, 2x6, 5x2 and 8x1 (both halves live at once
// spilled the larger shapes; one half at a time is what lets 6x2 fit).
inline constexpr int kBlockRows = static_cast<int>(kBf16RowBlock);
inline constexpr int kBlockTokens = 2;

// kR rows times tokens < kT, in one block.
template <int kR, int kT>
CAI_AVX512 void TokenTail512(const uint16_t* w, size_t cols, const float* x, size_t tokens, float* out,
                             size_t out_stride) {
  if constexpr (kT > 1) {
    if (tokens == kT - 1) return Block512<kR, kT - 1>(w, cols, x, out, out_stride);
    TokenTail512<kR, kT - 1>(w, cols, x, tokens, out, out_stride);
  }
}

// kR rows times any number of tokens: whole blocks of kBlockTokens, then one smaller block.
template <int kR>
CAI_AVX512 void Rows512(const uint16_t* w, size_t cols, const float* x, size_t tokens, float* out, size_t out_stride) {
  for (; tokens >= kBlockTokens; tokens -= kBlockTokens, x += kBlockTokens * cols, out += kBlockTokens * out_stride) {
    Block512<kR, kBlockTokens>(w, cols, x, out, out_stride);
  }
  TokenTail512<kR, kBlockTokens>(w, cols, x, tokens, out, out_stride);
}

// rows < kR, in one block of rows.
template <int kR>
CAI_AVX512 void RowTail512(const uint16_t* w, size_t cols, size_t rows, const float* x, size_t tokens, float* out,
                           size_t out_stride) {
  if constexpr (kR > 1) {
    if (rows == kR - 1) return Rows512<kR - 1>(w, cols, x, tokens, out, out_stride);
    RowTail512<kR - 1>(w, cols, rows, x, tokens, out, out_stride);
  }
}

#undef CAI_AVX512

}  // namespace

void MatMulBf16RowsAvx2(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                        float* out, size_t out_stride) {
  for (size_t r = begin; r < end; ++r) {
    const uint16_t* row = w + r * cols;
    size_t t = 0;
    for (; t + 2 <= tokens; t += 2) {
      float* o = out + t * out_stride + r;
      DotBf16Pair(row, x + t * cols, x + (t + 1) * cols, cols, o, o + out_stride);
    }
    if (t < tokens) out[t * out_stride + r] = DotBf16Avx2(row, x + t * cols, cols);
  }
}

void MatMulBf16RowsAvx512(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                          float* out, size_t out_stride) {
  size_t r = begin;
  for (; r + kBlockRows <= end; r += kBlockRows) {
    Rows512<kBlockRows>(w + r * cols, cols, x, tokens, out + r, out_stride);
  }
  RowTail512<kBlockRows>(w + r * cols, cols, end - r, x, tokens, out + r, out_stride);
}
#endif

}  // namespace internal

void MatMulBf16Rows(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                    float* out, size_t out_stride) {
#if defined(__x86_64__)
  // One token is bound by memory, and DotBf16's single row stream reads it at least as fast.
  if (internal::CpuHasAvx512() && tokens > 1) {
    return internal::MatMulBf16RowsAvx512(w, cols, begin, end, x, tokens, out, out_stride);
  }
  if (internal::CpuHasAvx2Fma()) return internal::MatMulBf16RowsAvx2(w, cols, begin, end, x, tokens, out, out_stride);
#endif
  internal::MatMulBf16RowsScalar(w, cols, begin, end, x, tokens, out, out_stride);
}

}  // namespace cai::inference
