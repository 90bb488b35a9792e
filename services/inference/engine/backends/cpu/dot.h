#pragma once

#include <cstddef>
#include <cstdint>

// Dot products of a weight row (F32 or BF16) with an F32 activation vector, accumulated in F32.
// AVX2+FMA kernels are chosen at run time when the CPU has them; the scalar kernels are the
// portable fallback. Both kernels of a dtype fix their summation order, so a result never depends
// on the thread count, and the F32 and BF16 kernels of one kind sum in the same order (a BF16 row
// widened to F32 gives the same bits through either).
namespace cai::inference {

float DotF32(const float* w, const float* x, size_t n);
float DotBf16(const uint16_t* w, const float* x, size_t n);

namespace internal {
bool CpuHasAvx2Fma();
float DotF32Scalar(const float* w, const float* x, size_t n);
float DotBf16Scalar(const uint16_t* w, const float* x, size_t n);
#if defined(__x86_64__)
float DotF32Avx2(const float* w, const float* x, size_t n);
float DotBf16Avx2(const uint16_t* w, const float* x, size_t n);
#endif
}  // namespace internal

}  // namespace cai::inference
