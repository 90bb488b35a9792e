// The attention launchers' checks, which run before any CUDA call: which caches the tensor-core
// kernel takes, and the refusals of shapes the kernels cannot run. Host code: runs without a GPU.
#include <gtest/gtest.h>

#include "services/inference/engine/backends/cuda/attention.h"

namespace cai::inference::cuda {
namespace {

TEST(AttentionLaunch, TensorCoresTakeBf16CachesWithHeadDim64Or128) {
  EXPECT_TRUE(TensorCoreAttentionFits({DType::kBF16, nullptr, nullptr, 8, 128}));
  EXPECT_TRUE(TensorCoreAttentionFits({DType::kBF16, nullptr, nullptr, 2, 64}));
  EXPECT_FALSE(TensorCoreAttentionFits({DType::kF32, nullptr, nullptr, 8, 128}));   // products stay F32
  EXPECT_FALSE(TensorCoreAttentionFits({DType::kBF16, nullptr, nullptr, 8, 256}));  // Gemma 2: registers
  EXPECT_FALSE(TensorCoreAttentionFits({DType::kBF16, nullptr, nullptr, 8, 16}));   // golden test models
  EXPECT_FALSE(TensorCoreAttentionFits({DType::kBF16, nullptr, nullptr, 8, 72}));
}

TEST(AttentionLaunch, TensorCoreKernelRefusesWhatItDoesNotFit) {
  const AttentionBatch batch{};
  const PagedKv f32{DType::kF32, nullptr, nullptr, 2, 128}, bf16{DType::kBF16, nullptr, nullptr, 2, 128};
  const AttentionShape shape{4, 2, 128, 1.0f, 0.0f, 0};
  EXPECT_EQ(LaunchTensorCoreTiledAttention(f32, batch, nullptr, 1, shape, nullptr), cudaErrorInvalidValue);
  AttentionShape other_dim = shape;
  other_dim.head_dim = 64;  // the shape and the cache disagree
  EXPECT_EQ(LaunchTensorCoreTiledAttention(bf16, batch, nullptr, 1, other_dim, nullptr), cudaErrorInvalidValue);
  AttentionShape uneven = shape;
  uneven.heads = 3;  // not a multiple of the key/value heads
  EXPECT_EQ(LaunchTensorCoreTiledAttention(bf16, batch, nullptr, 1, uneven, nullptr), cudaErrorInvalidValue);
  // No tiles: nothing to launch, whatever the cache.
  EXPECT_EQ(LaunchTensorCoreTiledAttention(f32, batch, nullptr, 0, shape, nullptr), cudaSuccess);
}

TEST(AttentionLaunch, KernelsRefuseHeadDimsTheyCannotRun) {
  AttentionBatch batch{};
  batch.num_tokens = 1;
  const PagedKv cache{DType::kBF16, nullptr, nullptr, 2, 12};
  const AttentionShape shape{4, 2, 12, 1.0f, 0.0f, 0};  // not a multiple of 8
  EXPECT_EQ(LaunchPagedAttention(cache, batch, shape, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(LaunchTiledAttention(cache, batch, nullptr, 1, shape, nullptr), cudaErrorInvalidValue);
  const AttentionShape fine{4, 2, 64, 1.0f, 0.0f, 0};
  EXPECT_EQ(LaunchPagedAttention({DType::kBF16, nullptr, nullptr, 2, 64}, batch, fine, nullptr, {17, nullptr}),
            cudaErrorInvalidValue);  // more key ranges than kMaxDecodePartitions
  EXPECT_EQ(LaunchPagedAttention({DType::kBF16, nullptr, nullptr, 2, 64}, batch, fine, nullptr, {4, nullptr}),
            cudaErrorInvalidValue);  // a split without scratch
}

}  // namespace
}  // namespace cai::inference::cuda
