#include "services/inference/engine/backends/cpu/ops.h"

#include <bit>
#include <cmath>
#include <numbers>
#include <random>

#include <gtest/gtest.h>

#include "services/inference/engine/backends/cpu/dot.h"
#include "services/inference/engine/backends/cpu/matmul_bf16.h"
#include "services/inference/engine/dtype.h"

namespace cai::inference {
namespace {

std::vector<float> Random(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(Ops, RmsNormHandComputed) {
  // x = [1, 2, 3, 4]: mean square 7.5, scale 1/sqrt(7.5 + eps).
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 0.5f, 2, -1}, out(4);
  RmsNorm(out.data(), x.data(), w.data(), 4, 1e-5f);
  double s = 1.0 / std::sqrt(7.5 + 1e-5);
  EXPECT_NEAR(out[0], 1 * 1 * s, 1e-6);
  EXPECT_NEAR(out[1], 0.5 * 2 * s, 1e-6);
  EXPECT_NEAR(out[2], 2 * 3 * s, 1e-6);
  EXPECT_NEAR(out[3], -1 * 4 * s, 1e-6);
}

TEST(Ops, RopePairsIWithIPlusHalf) {
  // head_dim 4, frequencies [1, 0.1] at position 2: angles 2 and 0.2.
  std::vector<float> inv_freq = {1.0f, 0.1f}, cos(2), sin(2);
  RopeCosSin(inv_freq, 2, cos.data(), sin.data());
  std::vector<float> x = {1, 2, 3, 4};  // pairs (x0, x2) and (x1, x3)
  ApplyRope(x.data(), 1, 4, cos.data(), sin.data());
  double a0 = 2.0, a1 = 0.2;
  EXPECT_NEAR(x[0], 1 * std::cos(a0) - 3 * std::sin(a0), 1e-6);
  EXPECT_NEAR(x[2], 3 * std::cos(a0) + 1 * std::sin(a0), 1e-6);
  EXPECT_NEAR(x[1], 2 * std::cos(a1) - 4 * std::sin(a1), 1e-6);
  EXPECT_NEAR(x[3], 4 * std::cos(a1) + 2 * std::sin(a1), 1e-6);
  // Position 0 is the identity.
  RopeCosSin(inv_freq, 0, cos.data(), sin.data());
  std::vector<float> y = {1, 2, 3, 4};
  ApplyRope(y.data(), 1, 4, cos.data(), sin.data());
  EXPECT_EQ(y, (std::vector<float>{1, 2, 3, 4}));
}

TEST(Ops, MatMulMatchesNaiveForAnyThreadCount) {
  const size_t tokens = 3, rows = 37, cols = 29;
  std::vector<float> x = Random(tokens * cols, 1), w = Random(rows * cols, 2);
  std::vector<float> reference;
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    std::vector<float> out(tokens * rows);
    MatMul(out.data(), x.data(), w.data(), tokens, rows, cols, pool);
    for (size_t t = 0; t < tokens; ++t) {
      for (size_t r = 0; r < rows; ++r) {
        double sum = 0;
        for (size_t c = 0; c < cols; ++c) sum += static_cast<double>(w[r * cols + c]) * x[t * cols + c];
        EXPECT_NEAR(out[t * rows + r], sum, 1e-4) << t << "," << r;
      }
    }
    if (reference.empty()) reference = out;
    EXPECT_EQ(out, reference);  // bitwise: each row is summed in one fixed order
  }
}

TEST(Ops, SoftmaxSumsToOneAndIsStable) {
  std::vector<float> x = {1000, 1001, 1002};
  Softmax(x.data(), 3);
  double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
  EXPECT_NEAR(x[2], 1 / z, 1e-6);
  EXPECT_NEAR(x[1], e1 / z, 1e-6);
  EXPECT_NEAR(x[0], e2 / z, 1e-6);
}

TEST(Ops, SiluValues) {
  EXPECT_FLOAT_EQ(Silu(0.0f), 0.0f);
  EXPECT_NEAR(Silu(1.0f), 1.0 / (1.0 + std::exp(-1.0)), 1e-7);
  EXPECT_NEAR(Silu(-3.0f), -3.0 / (1.0 + std::exp(3.0)), 1e-7);
}

// Grouped-query attention over a cache laid out [pos][kv_heads * head_dim], against a naive
// double-precision reference that maps query head h to kv head h / (heads / kv_heads).
TEST(Ops, GroupedQueryAttentionMatchesNaive) {
  const size_t heads = 4, kv_heads = 2, hd = 8, positions = 5, kv_dim = kv_heads * hd;
  std::vector<float> q = Random(heads * hd, 3), k = Random(positions * kv_dim, 4), v = Random(positions * kv_dim, 5);
  std::vector<float> scores(positions), out(hd);
  for (size_t h = 0; h < heads; ++h) {
    size_t kvh = h / (heads / kv_heads);
    AttendHead(out.data(), q.data() + h * hd, k.data() + kvh * hd, v.data() + kvh * hd, positions, hd, kv_dim,
               AttentionParams{1.0f / std::sqrt(float(hd)), 0}, scores.data());
    std::vector<double> s(positions);
    double max = -1e300, z = 0;
    for (size_t p = 0; p < positions; ++p) {
      double dot = 0;
      for (size_t i = 0; i < hd; ++i) dot += static_cast<double>(q[h * hd + i]) * k[p * kv_dim + kvh * hd + i];
      s[p] = dot / std::sqrt(static_cast<double>(hd));
      max = std::max(max, s[p]);
    }
    for (double& x : s) z += (x = std::exp(x - max));
    for (size_t i = 0; i < hd; ++i) {
      double expected = 0;
      for (size_t p = 0; p < positions; ++p) expected += s[p] / z * v[p * kv_dim + kvh * hd + i];
      EXPECT_NEAR(out[i], expected, 1e-5) << "head " << h << " dim " << i;
    }
  }
}

// Scale and soft cap: scores become cap * tanh(scale * q.k / cap) before the softmax.
TEST(Ops, AttentionScaleAndSoftCap) {
  const size_t hd = 4, positions = 3;
  std::vector<float> q = {3, -2, 4, 1}, k = Random(positions * hd, 6), v = Random(positions * hd, 7);
  for (float& x : k) x *= 5;  // large scores, so the cap bites
  const float scale = 0.2f, cap = 2.0f;
  std::vector<float> scores(positions), out(hd);
  AttendHead(out.data(), q.data(), k.data(), v.data(), positions, hd, hd, AttentionParams{scale, cap}, scores.data());
  std::vector<double> s(positions);
  double z = 0;
  for (size_t p = 0; p < positions; ++p) {
    double dot = 0;
    for (size_t i = 0; i < hd; ++i) dot += double(q[i]) * k[p * hd + i];
    z += s[p] = std::exp(cap * std::tanh(dot * scale / cap));
  }
  for (size_t i = 0; i < hd; ++i) {
    double expected = 0;
    for (size_t p = 0; p < positions; ++p) expected += s[p] / z * v[p * hd + i];
    EXPECT_NEAR(out[i], expected, 1e-5) << i;
  }
}

TEST(Ops, GeluTanhAndSoftCapValues) {
  for (double x : {-3.0, -0.5, 0.0, 0.7, 2.5}) {
    double expected = 0.5 * x * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
    EXPECT_NEAR(GeluTanh(float(x)), expected, 1e-6) << x;
    EXPECT_NEAR(SoftCap(float(x), 2.0f), 2 * std::tanh(x / 2), 1e-6) << x;
  }
  EXPECT_NEAR(SoftCap(1e4f, 30.0f), 30.0f, 1e-4);
}

std::vector<uint16_t> ToBf16(const std::vector<float>& v) {
  std::vector<uint16_t> out;
  for (float x : v) out.push_back(F32ToBf16(x));
  return out;
}

// Every kernel (scalar, and AVX2 where the CPU has it) against a double sum, for lengths around
// the 32-element step; F32 and BF16 kernels of one kind agree bitwise on the same values.
TEST(Dot, KernelsMatchDoubleSumAndEachOther) {
  for (size_t n : {1, 7, 31, 32, 33, 64, 100, 1000}) {
    std::vector<float> x = Random(n, n), w = Random(n, n + 1000);
    std::vector<uint16_t> w16 = ToBf16(w);
    std::vector<float> w16_wide;
    double exact = 0, exact16 = 0;
    for (size_t i = 0; i < n; ++i) {
      w16_wide.push_back(Bf16ToF32(w16[i]));
      exact += double(w[i]) * x[i];
      exact16 += double(w16_wide[i]) * x[i];
    }
    const double tol = 1e-5 * std::sqrt(double(n)) * 4;
    EXPECT_NEAR(internal::DotF32Scalar(w.data(), x.data(), n), exact, tol) << n;
    EXPECT_NEAR(internal::DotBf16Scalar(w16.data(), x.data(), n), exact16, tol) << n;
    EXPECT_EQ(internal::DotBf16Scalar(w16.data(), x.data(), n), internal::DotF32Scalar(w16_wide.data(), x.data(), n));
#if defined(__x86_64__)
    if (!internal::CpuHasAvx2Fma()) continue;
    EXPECT_NEAR(internal::DotF32Avx2(w.data(), x.data(), n), exact, tol) << n;
    EXPECT_NEAR(internal::DotBf16Avx2(w16.data(), x.data(), n), exact16, tol) << n;
    EXPECT_EQ(internal::DotBf16Avx2(w16.data(), x.data(), n), internal::DotF32Avx2(w16_wide.data(), x.data(), n));
#endif
  }
}

// A BF16 matrix gives the same bits as the F32 matrix of its widened values, for decode (one
// token) and prefill (several), with any thread count and with a strided output.
TEST(Ops, Bf16MatMulEqualsF32OfWidenedWeights) {
  const size_t rows = 45, cols = 70;
  std::vector<float> w = Random(rows * cols, 8);
  std::vector<uint16_t> w16 = ToBf16(w);
  std::vector<float> wide;
  for (uint16_t b : w16) wide.push_back(Bf16ToF32(b));
  WeightMatrix m16 = WeightMatrix::OwnBf16(w16, rows, cols);
  WeightMatrix m32 = WeightMatrix::OwnF32(wide, rows, cols);
  EXPECT_EQ(m16.bytes(), int64_t(rows * cols * 2));
  for (size_t tokens : {1, 4}) {
    std::vector<float> x = Random(tokens * cols, 9 + tokens);
    for (int threads : {1, 3}) {
      ThreadPool pool(threads);
      const size_t stride = rows + 5;
      std::vector<float> a(tokens * stride, -7), b(tokens * stride, -7);
      MatMul(a.data(), stride, x.data(), tokens, m16, pool);
      MatMul(b.data(), stride, x.data(), tokens, m32, pool);
      EXPECT_EQ(a, b) << tokens << " tokens, " << threads << " threads";
      for (size_t t = 0; t < tokens; ++t) {
        EXPECT_EQ(a[t * stride + rows], -7);  // the gap after each row is untouched
        for (size_t r = 0; r < rows; ++r) {
          double sum = 0;
          for (size_t c = 0; c < cols; ++c) sum += double(wide[r * cols + c]) * x[t * cols + c];
          EXPECT_NEAR(a[t * stride + r], sum, 1e-4);
        }
      }
    }
  }
}

// Shapes around every block edge: tokens and rows not multiples of the blocks, columns with and
// without a tail after the last 32-element step.
constexpr size_t kBlockTestTokens[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 33, 64};
constexpr size_t kBlockTestRows[] = {1, 3, 5, 7, 37};
constexpr size_t kBlockTestCols[] = {31, 32, 33, 100, 257};

using MatMulBf16Kernel = void (*)(const uint16_t* w, size_t cols, size_t begin, size_t end, const float* x,
                                  size_t tokens, float* out, size_t out_stride);
using DotBf16Kernel = float (*)(const uint16_t* w, const float* x, size_t n);

// `kernel` over rows [0, rows), called on two uneven parts, gives `dot`'s bits for every (row,
// token) and writes nothing else.
void ExpectKernelMatchesDot(MatMulBf16Kernel kernel, DotBf16Kernel dot) {
  for (size_t cols : kBlockTestCols) {
    for (size_t rows : kBlockTestRows) {
      const std::vector<uint16_t> w = ToBf16(Random(rows * cols, rows * 1000 + cols));
      for (size_t tokens : kBlockTestTokens) {
        const std::vector<float> x = Random(tokens * cols, tokens * 7 + cols);
        const size_t stride = rows + 3, split = rows / 3;
        std::vector<float> out(tokens * stride, -7);
        kernel(w.data(), cols, 0, split, x.data(), tokens, out.data(), stride);
        kernel(w.data(), cols, split, rows, x.data(), tokens, out.data(), stride);
        size_t mismatches = 0;
        for (size_t t = 0; t < tokens; ++t) {
          for (size_t r = 0; r < rows; ++r) {
            const float expected = dot(w.data() + r * cols, x.data() + t * cols, cols);
            mismatches += std::bit_cast<uint32_t>(out[t * stride + r]) != std::bit_cast<uint32_t>(expected);
          }
          for (size_t r = rows; r < stride; ++r) mismatches += out[t * stride + r] != -7;
        }
        EXPECT_EQ(mismatches, 0u) << rows << " rows, " << cols << " cols, " << tokens << " tokens";
      }
    }
  }
}

TEST(MatMulBf16, ScalarKernelHasDotBf16ScalarBits) {
  ExpectKernelMatchesDot(internal::MatMulBf16RowsScalar, internal::DotBf16Scalar);
}

#if defined(__x86_64__)
TEST(MatMulBf16, Avx2KernelHasDotBf16Avx2Bits) {
  if (!internal::CpuHasAvx2Fma()) GTEST_SKIP() << "no AVX2+FMA";
  ExpectKernelMatchesDot(internal::MatMulBf16RowsAvx2, internal::DotBf16Avx2);
}

TEST(MatMulBf16, Avx512KernelHasDotBf16Avx2Bits) {
  if (!internal::CpuHasAvx512()) GTEST_SKIP() << "no AVX-512";
  ExpectKernelMatchesDot(internal::MatMulBf16RowsAvx512, internal::DotBf16Avx2);
}
#endif

TEST(MatMulBf16, DispatchHasDotBf16Bits) { ExpectKernelMatchesDot(MatMulBf16Rows, DotBf16); }

// A BF16 MatMul gives every token DotBf16's bits for that token alone, whatever the batch size
// and the thread count (so a sequence's result does not depend on who shares the step).
TEST(Ops, Bf16MatMulEqualsDotBf16PerTokenForAnyBatchAndThreads) {
  const size_t rows = 37, cols = 100;
  const std::vector<uint16_t> w16 = ToBf16(Random(rows * cols, 21));
  const WeightMatrix m = WeightMatrix::OwnBf16(w16, rows, cols);
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (size_t tokens : kBlockTestTokens) {
      const std::vector<float> x = Random(tokens * cols, 22 + tokens);
      std::vector<float> out(tokens * rows);
      MatMul(out.data(), rows, x.data(), tokens, m, pool);
      size_t mismatches = 0;
      for (size_t t = 0; t < tokens; ++t) {
        for (size_t r = 0; r < rows; ++r) {
          const float alone = DotBf16(w16.data() + r * cols, x.data() + t * cols, cols);
          mismatches += std::bit_cast<uint32_t>(out[t * rows + r]) != std::bit_cast<uint32_t>(alone);
        }
      }
      EXPECT_EQ(mismatches, 0u) << tokens << " tokens, " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace cai::inference
