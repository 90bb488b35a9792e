#pragma once

// The AVX2 pieces the CPU kernels share (dot.cc, matmul_bf16.cc). The batched matmul promises the
// single-row dot product's exact bits, so both must widen (Bf16ToF32, dtype.h) and reduce through
// the same code.
#include <cstdint>

#include "services/inference/engine/dtype.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace cai::inference::internal {

#if defined(__x86_64__)
// The target of every kernel built on these (defined for the files that include this one).
#define CAI_AVX2 __attribute__((target("avx2,fma")))

CAI_AVX2 inline __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }

// Eight BF16 values widened to F32.
CAI_AVX2 inline __m256 Load8(const uint16_t* p) {
  __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
}

// Four 8-lane accumulators to one sum: (a0 + a1) + (a2 + a3), then lanes j + (j + 4), and so on;
// the order DotScalar's plain C++ follows.
CAI_AVX2 inline float ReduceAvx2(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));  // lanes j + (j + 4)
  __m128 p = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(p, _mm_movehdup_ps(p)));
}
#endif

}  // namespace cai::inference::internal
