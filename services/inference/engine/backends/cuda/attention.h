#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "services/inference/engine/dtype.h"

// Paged attention over a device KV cache: the RoPE + KV-write, paged (decode) and CUDA-core tiled
// (prefill) kernels in attention.cu, the tensor-core tiled kernel in attention_tensor_core.cu.
//
// KV cache layout, one layer: K and V are each [num_blocks][kv_heads][kKvBlockSize][head_dim] of
// `dtype` (F32 or BF16). A sequence's block table (int32, max_blocks_per_seq entries) maps its
// logical block p / kKvBlockSize to a physical block; position p lives at offset p % kKvBlockSize.
// A slot is block * kKvBlockSize + offset.
namespace cai::inference::cuda {

inline constexpr int kKvBlockSize = 16;
inline constexpr int kMaxHeadDim = 256;

// The head sizes the paged and CUDA-core tiled kernels take: multiples of 8 (the tiled kernel's
// threads per query row) up to kMaxHeadDim. Real models use 64 to 256; the golden test models use 16.
// (The tensor-core kernel takes 64 and 128: TensorCoreAttentionFits.)
constexpr bool ValidHeadDim(int head_dim) { return head_dim > 0 && head_dim % 8 == 0 && head_dim <= kMaxHeadDim; }
inline constexpr int kQueryTile = 16;    // queries per tile of LaunchTiledAttention

struct PagedKv {
  DType dtype = DType::kBF16;
  void* k = nullptr;
  void* v = nullptr;
  int kv_heads = 0, head_dim = 0;
};

struct AttentionShape {
  int heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1;    // multiplies q·k
  float softcap = 0;  // cap * tanh(score / cap) before the softmax; 0: none
  int window = 0;     // > 0: the query at p sees keys k with p - window < k <= p
};

// What every attention launcher checks first: a head size the kernels take, and query heads that
// split evenly over the key/value heads (GQA).
constexpr bool ValidAttentionShape(const AttentionShape& s) {
  return ValidHeadDim(s.head_dim) && s.kv_heads > 0 && s.heads % s.kv_heads == 0;
}

// The tokens of one forward step, flattened across sequences.
struct AttentionBatch {
  const float* q = nullptr;  // token t's query heads at q + t * q_stride
  int q_stride = 0;
  float* out = nullptr;      // token t's attention output heads at out + t * out_stride
  int out_stride = 0;
  const int32_t* seq_of_token = nullptr;  // token -> row of block_tables
  const int32_t* positions = nullptr;     // token -> position; it sees keys up to and including it
  const int32_t* block_tables = nullptr;  // [num_seqs][max_blocks_per_seq]
  int max_blocks_per_seq = 0;
  int num_tokens = 0;  // LaunchPagedAttention: tokens it runs (entries of token_index when given)
  const int32_t* token_index = nullptr;  // LaunchPagedAttention: run only these tokens; null: 0..num_tokens-1
};

// Token t's row qkv + t * stride holds its query heads, then kv_heads key heads, then kv_heads
// value heads (head_dim floats each). Rotates the query and key heads in place (RoPE, HF
// rotate_half pairing i with i + head_dim / 2, angle inv_freq[i] * positions[t] rounded to float,
// cos and sin in double as the CPU engine does) and writes the rotated keys and the values into
// slot slots[t] of the cache: one launch per layer for both.
cudaError_t LaunchRopeKvWrite(float* qkv, int stride, int heads, const int32_t* positions, const float* inv_freq,
                              const PagedKv& cache, const int32_t* slots, int num_tokens, cudaStream_t stream);

// Split-K ("flash-decoding") for LaunchPagedAttention: each token's visible keys are cut into
// `partitions` equal ranges, one block each, whose partial softmaxes go to `scratch` and are merged
// by a second kernel. It gives a batch-1 decode of a long context more blocks than it has heads;
// the grid depends only on the partition count, so a captured decode graph stays valid as the
// contexts grow.
inline constexpr int kMaxDecodePartitions = 16;
struct DecodeSplit {
  int partitions = 1;        // 1..kMaxDecodePartitions; 1: no split, no scratch
  float* scratch = nullptr;  // PagedAttentionScratchFloats(num_tokens, heads, head_dim, partitions)
};
size_t PagedAttentionScratchFloats(int num_tokens, int heads, int head_dim, int partitions);

// One query token per (token, head) block (times the split's partitions): online softmax over the
// visible keys read through the block table, GQA (query head h reads kv head h / (heads /
// kv_heads)), window and softcap. The keys of every token of the batch must already be written
// (LaunchRopeKvWrite), so a prefill chunk sees itself causally. Serves decode and prefill alike;
// prefill is faster tiled (below).
cudaError_t LaunchPagedAttention(const PagedKv& cache, const AttentionBatch& batch, const AttentionShape& shape,
                                 cudaStream_t stream, const DecodeSplit& split = {});

// Once per device and head_dim, before LaunchTiledAttention: the tiled kernel's shared-memory
// opt-in, which head_dim 256 (Gemma 2) needs.
cudaError_t PrepareAttention(int head_dim);

// The same attention for query tiles (attention_plan.h): tiles[2 i] is the first token of tile i
// and tiles[2 i + 1] its count (<= kQueryTile) of tokens of one sequence at consecutive positions.
// One block per (head, tile) stages the tile's queries and then each visible key block (one KV
// block of kKvBlockSize positions) in shared memory, so a key is read once per tile rather than
// once per query; causal, window and softcap masks per query. batch.num_tokens and token_index
// are not used.
cudaError_t LaunchTiledAttention(const PagedKv& cache, const AttentionBatch& batch, const int32_t* tiles,
                                 int num_tiles, const AttentionShape& shape, cudaStream_t stream);

// The same on tensor cores (attention_tensor_core.cu): one warp per (head, tile), q . k and the
// weighted sum of values on mma.sync (BF16 x BF16, F32 accumulation), the softmax in F32. Queries
// and softmax weights are rounded to BF16 for the products, where LaunchTiledAttention keeps
// them F32 (so their outputs differ by up to 2^-8 of the values, typically far less). For BF16 caches with head_dim 64
// or 128 (TensorCoreAttentionFits); cudaErrorInvalidValue for others.
bool TensorCoreAttentionFits(const PagedKv& cache);
cudaError_t LaunchTensorCoreTiledAttention(const PagedKv& cache, const AttentionBatch& batch, const int32_t* tiles,
                                           int num_tiles, const AttentionShape& shape, cudaStream_t stream);

}  // namespace cai::inference::cuda
