// Every kernel of the CUDA backend against the CPU engine's ops (ops.h) on random inputs. The
// tolerance of each comparison is stated where it is made, with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "services/inference/engine/backends/cpu/ops.h"
#include "services/inference/engine/backends/cuda/attention.h"
#include "services/inference/engine/backends/cuda/kernels.h"
#include "services/inference/engine/backends/cuda/sampling.h"
#include "services/inference/engine/dtype.h"
#include "tests/unit/cuda/cuda_golden_test_util.h"

namespace cai::inference::cuda {
namespace {

// A value as a cache of `dtype` holds it: BF16-rounded for a BF16 cache.
float AsStored(DType dtype, float f) { return dtype == DType::kBF16 ? Bf16ToF32(F32ToBf16(f)) : f; }

std::vector<uint16_t> ToBf16Bits(const std::vector<float>& v) {
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) bits[i] = F32ToBf16(v[i]);
  return bits;
}

TEST(CudaDevice, LoadFailsClearlyWithoutDevice) {
  if (CheckCudaDevice().ok()) GTEST_SKIP() << "a CUDA device is present";
  absl::Status status = CheckCudaDevice();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message().substr(0, 16), "no CUDA device: ") << status.message();
}

TEST(CudaKernels, RmsNormMatchesCpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const int rows = 3, d = 3584;  // Gemma-2-9B width: not a power of two
  std::vector<float> x = RandomFloats(rows * d, 3, 1), w = RandomFloats(d, 1, 2);
  DeviceBuffer<float> dx = ToDevice(x), dw = ToDevice(w), dout = ToDevice(std::vector<float>(rows * d));
  ASSERT_EQ(LaunchAddRmsNorm(dx.get(), nullptr, nullptr, dout.get(), dw.get(), rows, d, 1e-6f, nullptr), cudaSuccess);
  std::vector<float> want(rows * d);
  for (int r = 0; r < rows; ++r) RmsNorm(want.data() + r * d, x.data() + r * d, w.data(), d, 1e-6f);
  // F32 tree sum against the CPU's double sum: a few ulp of outputs of magnitude <= ~3.
  EXPECT_LE(MaxAbsDiff(ToHost(dout, rows * d), want), 2e-5);
  EXPECT_EQ(ToHost(dx, rows * d), x);  // no delta: x untouched
}

TEST(CudaKernels, FusedResidualAndPostNormMatchCpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const int rows = 2, d = 320;
  std::vector<float> x = RandomFloats(rows * d, 2, 3), delta = RandomFloats(rows * d, 2, 4);
  std::vector<float> w = RandomFloats(d, 1, 5), post = RandomFloats(d, 1, 6);
  DeviceBuffer<float> dx = ToDevice(x), ddelta = ToDevice(delta), dw = ToDevice(w), dpost = ToDevice(post);
  DeviceBuffer<float> dout = ToDevice(std::vector<float>(rows * d));
  ASSERT_EQ(LaunchAddRmsNorm(dx.get(), ddelta.get(), dpost.get(), dout.get(), dw.get(), rows, d, 1e-5f, nullptr),
            cudaSuccess);
  std::vector<float> want_x = x, want(rows * d), normed(d);
  for (int r = 0; r < rows; ++r) {
    RmsNorm(normed.data(), delta.data() + r * d, post.data(), d, 1e-5f);
    for (int i = 0; i < d; ++i) want_x[r * d + i] += normed[i];
    RmsNorm(want.data() + r * d, want_x.data() + r * d, w.data(), d, 1e-5f);
  }
  EXPECT_LE(MaxAbsDiff(ToHost(dx, rows * d), want_x), 2e-5);  // two F32 reductions, values <= ~6
  EXPECT_LE(MaxAbsDiff(ToHost(dout, rows * d), want), 2e-5);
}

// RoPE on the query and key heads of each row (values untouched) against the CPU's rotation, and
// the rotated keys and the values in the cache slots the tokens name, for both cache dtypes.
TEST(CudaKernels, RopeAndKvWriteMatchCpuWithLlama3Scaling) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  ModelConfig config;
  config.head_dim = 128;
  config.rope_theta = 500000;
  config.rope_scaling = Llama3RopeScaling{};
  std::vector<float> inv_freq;
  for (double f : RopeInverseFrequencies(config)) inv_freq.push_back(static_cast<float>(f));
  // 768 rotated pairs and 512 values per token: both loops of the 256-thread block go round more than once.
  const int tokens = 4, heads = 8, kv_heads = 4, hd = 128, q_dim = heads * hd, kv_dim = kv_heads * hd;
  const int stride = q_dim + 2 * kv_dim;
  const std::vector<int32_t> positions = {0, 1, 777, 100000};
  const std::vector<int32_t> slots = {35, 2, 16, 47};  // three blocks, out of order
  const int num_blocks = 3;
  std::vector<float> x = RandomFloats(tokens * stride, 1, 7);
  std::vector<float> want = x, cos(hd / 2), sin(hd / 2);
  for (int t = 0; t < tokens; ++t) {
    RopeCosSin(inv_freq, positions[t], cos.data(), sin.data());
    ApplyRope(want.data() + t * stride, heads + kv_heads, hd, cos.data(), sin.data());  // v (the rest) untouched
  }
  for (DType kv_dtype : {DType::kF32, DType::kBF16}) {
    const size_t cache_elems = size_t(num_blocks) * kv_heads * kKvBlockSize * hd, esize = DTypeSize(kv_dtype);
    DeviceBuffer<uint8_t> k = ToDevice(std::vector<uint8_t>(cache_elems * esize, 0));
    DeviceBuffer<uint8_t> v = ToDevice(std::vector<uint8_t>(cache_elems * esize, 0));
    DeviceBuffer<float> dx = ToDevice(x), dfreq = ToDevice(inv_freq);
    DeviceBuffer<int32_t> dpos = ToDevice(positions), dslots = ToDevice(slots);
    const PagedKv cache{kv_dtype, k.get(), v.get(), kv_heads, hd};
    ASSERT_EQ(LaunchRopeKvWrite(dx.get(), stride, heads, dpos.get(), dfreq.get(), cache, dslots.get(), tokens, nullptr),
              cudaSuccess);
    // Same float angle and double cos/sin; only FMA contraction differs: ~1 ulp of values <= ~1.4.
    const std::vector<float> got = ToHost(dx, tokens * stride);
    EXPECT_LE(MaxAbsDiff(got, want), 1e-6) << DTypeName(kv_dtype);
    // The cache holds the row's keys (as rotated on the device) and values, rounded to its dtype.
    const std::vector<uint8_t> k_bytes = ToHost(k, cache_elems * esize), v_bytes = ToHost(v, cache_elems * esize);
    auto cached = [&](const std::vector<uint8_t>& bytes, size_t at) {
      if (kv_dtype == DType::kF32) return reinterpret_cast<const float*>(bytes.data())[at];
      return Bf16ToF32(reinterpret_cast<const uint16_t*>(bytes.data())[at]);
    };
    auto stored = [&](float f) { return AsStored(kv_dtype, f); };
    for (int t = 0; t < tokens; ++t) {
      const int block = slots[t] / kKvBlockSize, offset = slots[t] % kKvBlockSize;
      for (int i = 0; i < kv_dim; ++i) {
        const size_t at = ((size_t(block) * kv_heads + i / hd) * kKvBlockSize + offset) * hd + i % hd;
        ASSERT_EQ(cached(k_bytes, at), stored(got[t * stride + q_dim + i])) << "token " << t << " key " << i;
        ASSERT_EQ(cached(v_bytes, at), stored(x[t * stride + q_dim + kv_dim + i])) << "token " << t << " value " << i;
      }
    }
  }
}

TEST(CudaKernels, GatedActivationsMatchCpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const int tokens = 3, ffn = 1000;
  std::vector<float> gate_up = RandomFloats(tokens * 2 * ffn, 8, 8);
  DeviceBuffer<float> dgu = ToDevice(gate_up), dout = ToDevice(std::vector<float>(tokens * ffn));
  for (Activation act : {Activation::kSilu, Activation::kGeluTanh}) {
    ASSERT_EQ(LaunchGatedActivation(dout.get(), dgu.get(), tokens, ffn, act, nullptr), cudaSuccess);
    std::vector<float> want(tokens * ffn);
    for (int t = 0; t < tokens; ++t) {
      for (int i = 0; i < ffn; ++i) {
        float g = gate_up[t * 2 * ffn + i], u = gate_up[t * 2 * ffn + ffn + i];
        want[t * ffn + i] = (act == Activation::kSilu ? Silu(g) : GeluTanh(g)) * u;
      }
    }
    // expf/tanhf on the device are within 2 ulp of glibc's; outputs are <= ~64.
    EXPECT_LE(MaxAbsDiff(ToHost(dout, tokens * ffn), want), 1e-4) << static_cast<int>(act);
  }
}

TEST(CudaKernels, SoftcapMatchesCpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  std::vector<float> x = RandomFloats(5000, 100, 9);
  DeviceBuffer<float> dx = ToDevice(x);
  ASSERT_EQ(LaunchSoftcap(dx.get(), x.size(), 30.0f, nullptr), cudaSuccess);
  std::vector<float> want = x;
  for (float& v : want) v = SoftCap(v, 30.0f);
  EXPECT_LE(MaxAbsDiff(ToHost(dx, x.size()), want), 1e-5);  // tanhf: 2 ulp of 30
}

TEST(CudaKernels, EmbedGathersAndScalesExactly) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const int vocab = 50, d = 72;
  std::vector<uint16_t> table = ToBf16Bits(RandomFloats(vocab * d, 1, 10));
  const std::vector<int32_t> tokens = {3, 49, 0, 3};
  DeviceBuffer<uint16_t> dtable = ToDevice(table);
  DeviceBuffer<int32_t> dtokens = ToDevice(tokens);
  DeviceBuffer<float> dout = ToDevice(std::vector<float>(tokens.size() * d));
  ASSERT_EQ(LaunchEmbed(dout.get(), dtokens.get(), tokens.size(), DeviceMatrix{DType::kBF16, dtable.get(), vocab, d},
                        8.0f, nullptr),
            cudaSuccess);
  std::vector<float> got = ToHost(dout, tokens.size() * d);
  for (size_t t = 0; t < tokens.size(); ++t) {
    for (int i = 0; i < d; ++i) ASSERT_EQ(got[t * d + i], Bf16ToF32(table[tokens[t] * d + i]) * 8.0f);  // exact
  }
}

// The mat-vec kernel for both dtypes, vectorised (cols % 8 == 0) and scalar, and token counts
// below, at and above one pass.
TEST(CudaKernels, MatVecMatchesCpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  ThreadPool pool(1);
  for (DType dtype : {DType::kBF16, DType::kF32}) {
    for (int cols : {1024, 70}) {
      for (int tokens : {1, 2, 3, 8, 11}) {  // each instantiation (1, 2, 4, 8 tokens), and two passes
        const int rows = 37, out_stride = rows + 5;
        std::vector<float> wf = RandomFloats(rows * cols, 1, 11), x = RandomFloats(tokens * cols, 1, 12);
        std::vector<uint16_t> wb = ToBf16Bits(wf);
        WeightMatrix cpu_w = dtype == DType::kBF16 ? WeightMatrix::OwnBf16(wb, rows, cols)
                                                   : WeightMatrix::OwnF32(wf, rows, cols);
        DeviceBuffer<uint16_t> dwb = ToDevice(wb);
        DeviceBuffer<float> dwf = ToDevice(wf), dx = ToDevice(x);
        DeviceBuffer<float> dout = ToDevice(std::vector<float>(tokens * out_stride, 0.0f));
        DeviceMatrix w{dtype, dtype == DType::kBF16 ? static_cast<const void*>(dwb.get()) : dwf.get(), rows, cols};
        ASSERT_EQ(LaunchMatVec(dout.get(), out_stride, dx.get(), tokens, w, nullptr), cudaSuccess);
        std::vector<float> want(tokens * out_stride, 0.0f);
        MatMul(want.data(), out_stride, x.data(), tokens, cpu_w, pool);
        // Different summation order over <= 1024 products of |w x| <= 1: F32 rounding, ~1e-5.
        const std::vector<float> got = ToHost(dout, tokens * out_stride);
        EXPECT_LE(MaxAbsDiff(got, want), 1e-4) << DTypeName(dtype) << " cols " << cols << " tokens " << tokens;
        // Each token alone gives the same bits as in its pass: decodes do not depend on their batch.
        for (int t = 0; t < tokens; ++t) {
          DeviceBuffer<float> alone = ToDevice(std::vector<float>(rows, 0.0f));
          ASSERT_EQ(LaunchMatVec(alone.get(), rows, dx.get() + size_t(t) * cols, 1, w, nullptr), cudaSuccess);
          const std::vector<float> one = ToHost(alone, rows);
          for (int r = 0; r < rows; ++r) {
            ASSERT_EQ(one[r], got[t * out_stride + r]) << "token " << t << " of " << tokens << ", row " << r;
          }
        }
      }
    }
  }
}

// The decode's gated mat-vec equals, bit for bit, the mat-vec into [gate | up] followed by the
// gating kernel (itself checked against the CPU above): both dtypes, vectorised and scalar rows,
// every instantiation (5 tokens: the 8-token one part full) and two passes, SiLU and GELU-tanh; the
// output row's padding stays untouched.
TEST(CudaKernels, GatedMatVecEqualsMatVecThenGating) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  for (DType dtype : {DType::kBF16, DType::kF32}) {
    for (int cols : {1024, 70}) {
      for (int tokens : {1, 2, 3, 5, 8, 11}) {
        for (Activation act : {Activation::kSilu, Activation::kGeluTanh}) {
          const int ffn = 37, out_stride = ffn + 3;
          std::vector<float> wf = RandomFloats(2 * ffn * cols, 1, 15), x = RandomFloats(tokens * cols, 1, 16);
          DeviceBuffer<uint16_t> dwb = ToDevice(ToBf16Bits(wf));
          DeviceBuffer<float> dwf = ToDevice(wf), dx = ToDevice(x);
          const void* data = dtype == DType::kBF16 ? static_cast<const void*>(dwb.get()) : dwf.get();
          const DeviceMatrix gate_up{dtype, data, 2 * ffn, cols};
          DeviceBuffer<float> dgu = ToDevice(std::vector<float>(tokens * 2 * ffn));
          DeviceBuffer<float> dwant = ToDevice(std::vector<float>(tokens * ffn));
          ASSERT_EQ(LaunchMatVec(dgu.get(), 2 * ffn, dx.get(), tokens, gate_up, nullptr), cudaSuccess);
          ASSERT_EQ(LaunchGatedActivation(dwant.get(), dgu.get(), tokens, ffn, act, nullptr), cudaSuccess);
          DeviceBuffer<float> dgot = ToDevice(std::vector<float>(tokens * out_stride, std::nanf("")));
          ASSERT_EQ(LaunchGatedMatVec(dgot.get(), out_stride, dx.get(), tokens, gate_up, act, nullptr), cudaSuccess);
          const std::vector<float> want = ToHost(dwant, tokens * ffn), got = ToHost(dgot, tokens * out_stride);
          for (int t = 0; t < tokens; ++t) {
            for (int i = 0; i < ffn; ++i) {
              ASSERT_EQ(got[t * out_stride + i], want[t * ffn + i])
                  << DTypeName(dtype) << " cols " << cols << " tokens " << tokens << " act " << int(act) << " at "
                  << t << "," << i;
            }
            for (int i = ffn; i < out_stride; ++i) ASSERT_TRUE(std::isnan(got[t * out_stride + i])) << "padding";
          }
        }
      }
    }
  }
}

// The attention kernels against AttendHead over the same keys, gathered in order from a shuffled
// block table: GQA 4 / 2, head_dim 16, 64, 72, 128 and 256 (the tiled kernel's largest shared-memory use),
// windows 16 and 37 (not a multiple of a warp's keys per step), softcap, F32 and BF16 caches, a
// two-sequence batch, one of 71 positions and one of 300 (several steps of every decode warp).
// The paged kernel runs every token as a decode, whole and split-K (its scratch starts as NaN
// too); the tiled one runs the same tokens as prefill tiles of 5, 16, 16, 2, ... queries: tiles
// that start mid-block and span two blocks (as a chunked prefill resuming at position 21 does),
// and partial tiles. Where the cache fits it (BF16, head_dim 64 and 128) the tensor-core tiled
// kernel runs the same tiles, against a reference with the queries rounded to BF16 as it rounds
// them. The caches start as NaN, so a kernel that lets a never-written slot into its sums fails.
TEST(CudaKernels, AttentionKernelsMatchCpu) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  for (const std::vector<int>& lengths : {std::vector<int>{71, 21}, std::vector<int>{300, 21}}) {
    for (int hd : {16, 64, 72, 128, 256}) {  // 16, 72: the last lanes of a decode warp idle
      const int heads = 4, kv_heads = 2, kv_dim = kv_heads * hd, q_dim = heads * hd;
      const int stride = q_dim + 2 * kv_dim;
      // Each sequence's blocks, handed out from a shuffled pool; unused table entries name block 0.
      int max_blocks = 0, num_blocks = 0;
      for (int len : lengths) {
        const int blocks = (len + kKvBlockSize - 1) / kKvBlockSize;
        max_blocks = std::max(max_blocks, blocks);
        num_blocks += blocks;
      }
      std::vector<int32_t> pool(num_blocks);
      std::iota(pool.begin(), pool.end(), 0);
      std::shuffle(pool.begin(), pool.end(), std::mt19937(hd + lengths[0]));
      std::vector<int32_t> tables(lengths.size() * max_blocks, 0);
      for (size_t s = 0, next = 0; s < lengths.size(); ++s) {
        for (int b = 0; b * kKvBlockSize < lengths[s]; ++b) tables[s * max_blocks + b] = pool[next++];
      }
      std::vector<int32_t> slots, seq_of_token, positions, tiles;
      for (size_t s = 0; s < lengths.size(); ++s) {
        const int first_token = static_cast<int>(slots.size());
        for (int p = 0; p < lengths[s]; ++p) {
          slots.push_back(tables[s * max_blocks + p / kKvBlockSize] * kKvBlockSize + p % kKvBlockSize);
          seq_of_token.push_back(static_cast<int32_t>(s));
          positions.push_back(p);
        }
        const int sizes[] = {5, 16, 16, 2};
        for (int p = 0, i = 0; p < lengths[s]; p += sizes[i++ % 4]) {
          tiles.push_back(first_token + p);
          tiles.push_back(std::min(sizes[i % 4], lengths[s] - p));
        }
      }
      const int n = static_cast<int>(slots.size());
      for (DType kv_dtype : {DType::kF32, DType::kBF16}) {
        for (int window : {0, 16, 37}) {
          for (float softcap : {0.0f, 10.0f}) {
            // Write every position's k and v through LaunchRopeKvWrite with zero frequencies (cos 1,
            // sin 0: the rotation leaves every value as it is), then attend from every position.
            std::vector<float> qkv = RandomFloats(n * stride, 2, 13);
            const size_t cache_elems = size_t(num_blocks) * kv_heads * kKvBlockSize * hd;
            const size_t esize = DTypeSize(kv_dtype);
            DeviceBuffer<uint8_t> k = ToDevice(std::vector<uint8_t>(cache_elems * esize, 0xff));  // NaN
            DeviceBuffer<uint8_t> v = ToDevice(std::vector<uint8_t>(cache_elems * esize, 0xff));
            DeviceBuffer<float> dqkv = ToDevice(qkv), dout = ToDevice(std::vector<float>(n * q_dim));
            DeviceBuffer<int32_t> dslots = ToDevice(slots), dseq = ToDevice(seq_of_token), dpos = ToDevice(positions);
            DeviceBuffer<int32_t> dtables = ToDevice(tables), dtiles = ToDevice(tiles);
            DeviceBuffer<float> dno_rotation = ToDevice(std::vector<float>(hd / 2, 0.0f));
            PagedKv cache{kv_dtype, k.get(), v.get(), kv_heads, hd};
            ASSERT_EQ(PrepareAttention(hd), cudaSuccess);
            ASSERT_EQ(LaunchRopeKvWrite(dqkv.get(), stride, heads, dpos.get(), dno_rotation.get(), cache,
                                        dslots.get(), n, nullptr),
                      cudaSuccess);
            ASSERT_EQ(ToHost(dqkv, n * stride), qkv);  // the identity rotation, exactly
            const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
            AttentionShape shape{heads, kv_heads, hd, scale, softcap, window};
            AttentionBatch batch{dqkv.get(), stride, dout.get(), q_dim, dseq.get(), dpos.get(), dtables.get(),
                                 max_blocks, n};
            // The paged kernel whole, and split into 3 and 16 key ranges (split-K; with 16, the
            // 21-position sequence and the windows leave some ranges empty).
            std::vector<std::vector<float>> paged;
            for (int partitions : {1, 3, kMaxDecodePartitions}) {
              DeviceBuffer<float> scratch = ToDevice(
                  std::vector<float>(PagedAttentionScratchFloats(n, heads, hd, partitions) + 1, std::nanf("")));
              // NaN first, so an output this run misses cannot pass with the previous run's value.
              ASSERT_EQ(cudaMemset(dout.get(), 0xff, size_t(n) * q_dim * sizeof(float)), cudaSuccess);
              ASSERT_EQ(LaunchPagedAttention(cache, batch, shape, nullptr, {partitions, scratch.get()}), cudaSuccess);
              paged.push_back(ToHost(dout, n * q_dim));
            }
            DeviceBuffer<float> dtiled = ToDevice(std::vector<float>(n * q_dim));
            AttentionBatch tiled_batch = batch;
            tiled_batch.out = dtiled.get();
            ASSERT_EQ(LaunchTiledAttention(cache, tiled_batch, dtiles.get(), static_cast<int>(tiles.size() / 2),
                                           shape, nullptr),
                      cudaSuccess);
            std::vector<float> tiled = ToHost(dtiled, n * q_dim);
            std::vector<float> tensor_core;
            if (TensorCoreAttentionFits(cache)) {
              ASSERT_EQ(cudaMemset(dtiled.get(), 0xff, size_t(n) * q_dim * sizeof(float)), cudaSuccess);  // NaN
              ASSERT_EQ(LaunchTensorCoreTiledAttention(cache, tiled_batch, dtiles.get(),
                                                       static_cast<int>(tiles.size() / 2), shape, nullptr),
                        cudaSuccess);
              tensor_core = ToHost(dtiled, n * q_dim);
            }

            // The CPU reference reads the keys as stored (BF16-rounded for a BF16 cache).
            auto stored = [&](float f) { return AsStored(kv_dtype, f); };
            double max_diff = 0, tensor_core_diff = 0;
            std::vector<float> want(hd), want_bf16_q(hd), q_rounded(hd), scores(512);
            for (int t = 0; t < n; ++t) {
              const int pos = positions[t], seq_start = t - pos;  // a sequence's tokens are 0.. in order
              const int first = window > 0 ? std::max(0, pos - window + 1) : 0;
              std::vector<float> keys, values;
              for (int p = first; p <= pos; ++p) {
                for (int i = 0; i < kv_dim; ++i) {
                  keys.push_back(stored(qkv[(seq_start + p) * stride + q_dim + i]));
                  values.push_back(stored(qkv[(seq_start + p) * stride + q_dim + kv_dim + i]));
                }
              }
              for (int h = 0; h < heads; ++h) {
                const int kvh = h / (heads / kv_heads);
                AttendHead(want.data(), qkv.data() + t * stride + h * hd, keys.data() + kvh * hd,
                           values.data() + kvh * hd, pos - first + 1, hd, kv_dim, AttentionParams{scale, softcap},
                           scores.data());
                for (int i = 0; i < hd; ++i) {
                  for (const std::vector<float>& got : paged) {
                    max_diff = MaxDiffSoFar(max_diff, got[t * q_dim + h * hd + i], want[i]);
                  }
                  max_diff = MaxDiffSoFar(max_diff, tiled[t * q_dim + h * hd + i], want[i]);
                }
                if (tensor_core.empty()) continue;
                for (int i = 0; i < hd; ++i) q_rounded[i] = AsStored(DType::kBF16, qkv[t * stride + h * hd + i]);
                AttendHead(want_bf16_q.data(), q_rounded.data(), keys.data() + kvh * hd, values.data() + kvh * hd,
                           pos - first + 1, hd, kv_dim, AttentionParams{scale, softcap}, scores.data());
                for (int i = 0; i < hd; ++i) {
                  tensor_core_diff = MaxDiffSoFar(tensor_core_diff, tensor_core[t * q_dim + h * hd + i], want_bf16_q[i]);
                }
              }
            }
            // The tensor-core kernel also rounds each softmax weight to BF16 (relative error up to
            // 2^-8) for the weighted sum, its normaliser summing them unrounded: at most 2^-8 of
            // max |v| <= 2, 0.0078, plus F32 rounding. (An emulation of the kernel on these inputs
            // gave 0.0026 at worst; a wrong fragment, key or mask gave more than 2.)
            EXPECT_LE(tensor_core_diff, 8e-3) << "tensor cores, head_dim " << hd << " window " << window
                                              << " softcap " << softcap << " lengths " << lengths[0];
            // Online softmax vs two-pass: F32 rounding on outputs bounded by max |v| <= 2.
            EXPECT_LE(max_diff, 2e-5) << DTypeName(kv_dtype) << " head_dim " << hd << " window " << window
                                      << " softcap " << softcap << " lengths " << lengths[0];
          }
        }
      }
    }
  }
}

// Greedy (temperature 0) through the sampling kernel: the argmax, lowest id on ties.
TEST(CudaKernels, GreedyTakesLowestIdOnTies) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const int vocab = 5000;
  std::vector<float> logits = RandomFloats(2 * vocab, 5, 14);
  logits[1234] = 9, logits[4321] = 9;                 // row 0: tie, lowest wins
  logits[vocab + 4999] = 7;                           // row 1: the last id
  DeviceBuffer<float> dl = ToDevice(logits);
  DeviceBuffer<DeviceSamplingParams> dparams =
      ToDevice(std::vector<DeviceSamplingParams>(2, DeviceSamplingParams{.temperature = 0}));
  DeviceBuffer<int32_t> dout = ToDevice(std::vector<int32_t>(2));
  ASSERT_EQ(LaunchSample(dout.get(), dl.get(), dparams.get(), 2, vocab, nullptr), cudaSuccess);
  EXPECT_EQ(ToHost(dout, 2), (std::vector<int32_t>{1234, 4999}));
}

std::vector<int32_t> Sample(const std::vector<float>& row, const DeviceSamplingParams& params, int draws) {
  const int vocab = static_cast<int>(row.size());
  std::vector<float> logits;
  std::vector<DeviceSamplingParams> all;
  for (int i = 0; i < draws; ++i) {
    logits.insert(logits.end(), row.begin(), row.end());
    all.push_back(params);
    all.back().step = i;
  }
  DeviceBuffer<float> dl = ToDevice(logits);
  DeviceBuffer<DeviceSamplingParams> dp = ToDevice(all);
  DeviceBuffer<int32_t> dout = ToDevice(std::vector<int32_t>(draws));
  EXPECT_EQ(LaunchSample(dout.get(), dl.get(), dp.get(), draws, vocab, nullptr), cudaSuccess);
  return ToHost(dout, draws);
}

TEST(CudaSampling, FiltersKeepOnlyTheirTokens) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  // Probabilities at T = 1: 0.5, 0.25, 0.125, 0.0625, ... (ids 10, 20, 30, 40, rest tiny).
  std::vector<float> row(3000, -30.0f);
  row[10] = std::log(0.5f), row[20] = std::log(0.25f), row[30] = std::log(0.125f), row[40] = std::log(0.0625f);
  auto ids = [](const std::vector<int32_t>& v) {
    std::vector<int32_t> s = v;
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    return s;
  };
  EXPECT_EQ(ids(Sample(row, {.temperature = 0}, 50)), std::vector<int32_t>{10});
  EXPECT_EQ(ids(Sample(row, {.top_k = 1}, 50)), std::vector<int32_t>{10});
  EXPECT_EQ(ids(Sample(row, {.top_k = 2}, 400)), (std::vector<int32_t>{10, 20}));
  EXPECT_EQ(ids(Sample(row, {.top_p = 0.7f}, 400)), (std::vector<int32_t>{10, 20}));  // 0.5 < 0.7 <= 0.75
  EXPECT_EQ(ids(Sample(row, {.min_p = 0.2f}, 400)), (std::vector<int32_t>{10, 20, 30}));  // p >= 0.1
  EXPECT_EQ(ids(Sample(row, {.top_k = 3, .top_p = 0.6f}, 400)), (std::vector<int32_t>{10, 20}));
  // The same seed and step give the same token; the unfiltered draw follows the distribution.
  EXPECT_EQ(Sample(row, {.seed = 42}, 64), Sample(row, {.seed = 42}, 64));
  std::vector<int32_t> draws = Sample(row, {.seed = 7}, 8000);
  const double share = std::count(draws.begin(), draws.end(), 10) / 8000.0;
  EXPECT_NEAR(share, 0.5 / 0.9375, 0.03);  // ~6 standard deviations
}

// Top-p over a full Llama 3 vocabulary, peaked (its passes over the few hundred weights the kernel
// gathers into shared memory) and flat (too many to gather: passes over the row): every draw lies
// in the nucleus a sort finds, and the draws reach beyond the most likely token.
TEST(CudaSampling, TopPDrawsStayInTheNucleusOfAFullVocabulary) {
  CAI_SKIP_WITHOUT_CUDA_DEVICE();
  const int vocab = 128256;
  for (bool peaked : {true, false}) {
    // Peaked: 300 tokens 15 above the rest (as a chat model's logits stand out), so only they are
    // above the floor. Flat: every logit within 0.1, every token above it.
    std::vector<float> row = RandomFloats(vocab, peaked ? 2.0f : 0.05f, 17);
    for (int i = 0; peaked && i < 300; ++i) row[(i * 7919) % vocab] += 15.0f;
    const DeviceSamplingParams params{.temperature = 0.6f, .top_p = 0.9f, .seed = 3};
    // The nucleus by a sort, in double: the most likely tokens until 0.9 of the mass, with a
    // margin of 1e-4 of the mass either side for the kernel's float sums.
    const float max = *std::max_element(row.begin(), row.end());
    std::vector<double> w(vocab);
    double total = 0;
    for (int i = 0; i < vocab; ++i) total += w[i] = std::exp((double(row[i]) - max) / 0.6);
    std::vector<int> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return w[a] > w[b]; });
    // The most likely ids until `share` of the mass.
    auto nucleus_of = [&](double share) {
      std::vector<bool> in(vocab, false);
      double mass = 0;
      for (int id : order) {
        if (mass >= share * total) break;
        in[id] = true;
        mass += w[id];
      }
      return in;
    };
    const std::vector<bool> allowed = nucleus_of(0.9 + 1e-4);
    const std::vector<int32_t> draws = Sample(row, params, 256);
    for (int32_t id : draws) ASSERT_TRUE(id >= 0 && id < vocab && allowed[id]) << "peaked " << peaked << " id " << id;
    EXPECT_GT(std::count_if(draws.begin(), draws.end(), [&](int32_t id) { return id != order[0]; }), 0);

    // The kernel's own account: the peaked row's 300 heavy tokens gathered (the fast path taken),
    // the flat row too wide to gather; the peaked row's threshold keeps exactly the nucleus.
    DeviceBuffer<float> dl = ToDevice(row);
    DeviceBuffer<DeviceSamplingParams> dp = ToDevice(std::vector<DeviceSamplingParams>{params});
    DeviceBuffer<int32_t> dout = ToDevice(std::vector<int32_t>(1));
    DeviceBuffer<SampleTrace> dtrace = ToDevice(std::vector<SampleTrace>(1));
    ASSERT_EQ(LaunchSample(dout.get(), dl.get(), dp.get(), 1, vocab, nullptr, dtrace.get()), cudaSuccess);
    const SampleTrace trace = ToHost(dtrace, 1)[0];
    EXPECT_EQ(trace.gathered, peaked ? 300 : -1);
    if (!peaked) continue;
    const std::vector<bool> nucleus = nucleus_of(0.9);
    // Host and device exp differ by an ulp or two; neighbouring heavy weights by about 2%.
    for (int i = 0; i < vocab; ++i) {
      const float weight = std::exp((row[i] - max) * (1.0f / 0.6f));
      if (nucleus[i]) {
        ASSERT_GE(weight, trace.threshold * (1 - 1e-5f)) << "id " << i << " of the nucleus is not kept";
      } else {
        ASSERT_LT(weight, trace.threshold * (1 + 1e-5f)) << "id " << i << " is kept outside the nucleus";
      }
    }
  }
}

}  // namespace
}  // namespace cai::inference::cuda
