#include "services/inference/engine/backends/cpu/dot.h"

#include "services/inference/engine/backends/cpu/avx2_bf16.h"

namespace cai::inference {
namespace internal {
namespace {

// Eight independent partial sums: the order the vector kernels use, in plain C++.
template <typename T, typename Widen>
float DotScalar(const T* w, const float* x, size_t n, Widen widen) {
  float acc[32] = {};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (size_t j = 0; j < 32; ++j) acc[j] = widen(w[i + j]) * x[i + j] + acc[j];
  }
  float lanes[8];
  for (size_t j = 0; j < 8; ++j) lanes[j] = (acc[j] + acc[j + 8]) + (acc[j + 16] + acc[j + 24]);
  float sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
  for (; i < n; ++i) sum += widen(w[i]) * x[i];
  return sum;
}

}  // namespace

bool CpuHasAvx2Fma() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

float DotF32Scalar(const float* w, const float* x, size_t n) {
  return DotScalar(w, x, n, [](float v) { return v; });
}

float DotBf16Scalar(const uint16_t* w, const float* x, size_t n) {
  return DotScalar(w, x, n, Bf16ToF32);
}

#if defined(__x86_64__)
namespace {

inline float Widen(float v) { return v; }
inline float Widen(uint16_t v) { return Bf16ToF32(v); }

// Four 8-lane accumulators over 32 elements per step, reduced in the order DotScalar uses.
template <typename T>
CAI_AVX2 float DotAvx2(const T* w, const float* x, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(Load8(w + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(Load8(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(Load8(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(Load8(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  float sum = ReduceAvx2(a0, a1, a2, a3);
  for (; i < n; ++i) sum += Widen(w[i]) * x[i];
  return sum;
}

}  // namespace

float DotF32Avx2(const float* w, const float* x, size_t n) { return DotAvx2(w, x, n); }
float DotBf16Avx2(const uint16_t* w, const float* x, size_t n) { return DotAvx2(w, x, n); }
#endif

}  // namespace internal

float DotF32(const float* w, const float* x, size_t n) {
#if defined(__x86_64__)
  if (internal::CpuHasAvx2Fma()) return internal::DotF32Avx2(w, x, n);
#endif
  return internal::DotF32Scalar(w, x, n);
}

float DotBf16(const uint16_t* w, const float* x, size_t n) {
#if defined(__x86_64__)
  if (internal::CpuHasAvx2Fma()) return internal::DotBf16Avx2(w, x, n);
#endif
  return internal::DotBf16Scalar(w, x, n);
}

}  // namespace cai::inference
