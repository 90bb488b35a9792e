#pragma once

#include <cstddef>
#include <cstdint>

// A BF16 weight matrix times several F32 activation rows, register-blocked over rows and tokens:
// each widened weight chunk serves several tokens and each activation chunk several rows, so a
// batched decode step is bound by arithmetic, not by loads. Every output has exactly the bits of
// DotBf16(row, x_t, cols) for its token alone: the kernels keep DotBf16's per-lane partial sums,
// its reduction order and its scalar tail, whatever the block shape or the register width.
namespace cai::inference {

// Rows per register block of the AVX-512 kernel (6 rows x 2 tokens). Splitting rows at multiples
// of it keeps whole blocks together; any split gives the same bits.
inline constexpr size_t kBf16RowBlock = 6;

// out[t * out_stride + r] = DotBf16(w + r * cols, x + t * cols, cols) for begin <= r < end and
// t < tokens. `w` is the matrix's row 0. One token takes DotBf16 itself, row by row; more take the
// AVX-512 kernel where the CPU has it, else pairs of tokens with AVX2, else scalar.
void MatMulBf16Rows(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                    float* out, size_t out_stride);

namespace internal {
bool CpuHasAvx512();  // AVX-512F, besides the AVX2 and FMA that DotBf16 uses

// Each kernel equals the DotBf16 kernel of its family: the scalar one DotBf16Scalar, the AVX2 and
// AVX-512 ones DotBf16Avx2.
void MatMulBf16RowsScalar(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                          float* out, size_t out_stride);
#if defined(__x86_64__)
void MatMulBf16RowsAvx2(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                        float* out, size_t out_stride);
void MatMulBf16RowsAvx512(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x, size_t tokens,
                          float* out, size_t out_stride);
#endif
}  // namespace internal

}  // namespace cai::inference
