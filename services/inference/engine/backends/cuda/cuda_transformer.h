#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/inference/engine/backends/cuda/attention.h"
#include "services/inference/engine/backends/cuda/attention_plan.h"
#include "services/inference/engine/backends/cuda/device_buffer.h"
#include "services/inference/engine/backends/cuda/kernels.h"
#include "services/inference/engine/backends/cuda/sampling.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/forward_backend.h"
#include "services/inference/engine/model_config.h"

typedef struct cublasContext* cublasHandle_t;

namespace cai::inference::cuda {

struct CudaEngineOptions {
  int device = 0;
  // Share of the device memory still free after weights and scratch that the KV cache takes.
  double kv_cache_fraction = 0.9;
  int64_t max_kv_blocks = 0;      // > 0: at most this many blocks (tests, several engines on one GPU)
  int max_batch_tokens = 2048;    // tokens per Forward (prefill chunks plus decodes)
  int max_seqs = 256;             // sequences (block-table rows) per Forward
  // Logit rows per Forward (at most max_batch_tokens): one per sequence, and the rest for prompt
  // positions scored in the same step (completions' echo with logprobs). 0: max_seqs + 64.
  int max_logit_rows = 0;
  int gemm_min_tokens = 16;       // fewer tokens: the mat-vec kernel; this many or more: cuBLAS
  bool cuda_graphs = true;        // replay decode steps (one token per sequence) from CUDA graphs
  int max_context = 8192;         // positions per sequence (block-table width), capped by the model's
  // Key ranges per decode token (split-K, attention.h DecodeSplit), and the most SetDecodePartitions
  // may choose later: 1 until measured on hardware (bench/cuda_decode).
  int decode_partitions = 1;
  // Prefill (tiled) attention on tensor cores where TensorCoreAttentionFits the cache (BF16,
  // head_dim 64 or 128); otherwise, or when false, on CUDA cores in F32.
  bool tensor_core_attention = true;
  // Programmatic dependent launch of a step's kernels (kernels.h SetProgrammaticLaunch), applied when
  // the engine loads. The switch is process-wide: the last engine loaded sets it.
  bool programmatic_launch = true;
  std::optional<DType> kv_dtype;  // default: BF16 for BF16 checkpoints, F32 otherwise
};

// One forward step over several sequences, flattened. Token t of the batch belongs to sequence
// seq_ids[t] (a row of block_tables), sits at positions[t], and sees that sequence's cached keys
// 0..positions[t], including those this same batch writes (a prefill chunk sees itself causally).
// The caller owns block allocation: every block a position needs must be in the table.
struct ForwardBatch {
  std::span<const int32_t> tokens;
  std::span<const int32_t> positions;
  std::span<const int32_t> seq_ids;
  std::span<const int32_t> block_tables;  // [num_seqs][max_blocks_per_seq()]
  std::span<const int32_t> logit_tokens;  // batch indices whose logits are wanted, in output order
};

// A decoder-only transformer on one NVIDIA GPU (Hopper, sm_90): the same families and weights as
// the CPU TransformerModel, which is its reference. Matrices stay BF16 (or F32 for F32/F16
// checkpoints); activations and accumulation are F32. The KV cache is paged (attention.h).
// Not thread-safe: one caller drives it (a scheduler batches the sequences).
class CudaTransformer {
 public:
  // FailedPrecondition "no CUDA device: ..." without a usable GPU or driver.
  static absl::StatusOr<std::unique_ptr<CudaTransformer>> Load(const ModelConfig& config, const Checkpoint& checkpoint,
                                                               const CudaEngineOptions& options = {});
  // Random BF16 weights generated on the device (norms 1): benchmarks of full-size shapes without a
  // checkpoint on the host.
  static absl::StatusOr<std::unique_ptr<CudaTransformer>> LoadRandom(const ModelConfig& config, uint64_t seed,
                                                                     const CudaEngineOptions& options = {});
  ~CudaTransformer();
  CudaTransformer(const CudaTransformer&) = delete;
  CudaTransformer& operator=(const CudaTransformer&) = delete;

  const ModelConfig& config() const { return config_; }
  const CudaEngineOptions& options() const { return options_; }
  int64_t num_kv_blocks() const { return num_kv_blocks_; }
  int max_blocks_per_seq() const { return max_blocks_per_seq_; }
  int64_t weight_bytes() const { return weight_bytes_; }
  // Weight bytes one decode step reads: every layer matrix and the output head.
  int64_t decode_weight_bytes() const { return decode_weight_bytes_; }
  cudaStream_t stream() const { return stream_; }
  // 1..options().decode_partitions; drops the captured decode graphs (their grids change).
  absl::Status SetDecodePartitions(int partitions);
  // Programmatic dependent launch (kernels.h SetProgrammaticLaunch: process-wide) on or off; drops
  // the captured decode graphs, which keep the mode they were captured in.
  absl::Status SetProgrammaticLaunch(bool on);
  // Decode graphs captured so far (one per batch size), for tests that a change drops them.
  size_t num_decode_graphs() const { return graphs_.size(); }
  // options().tensor_core_attention from the next step on (prefill is never in a captured graph).
  void SetTensorCoreAttention(bool on) { options_.tensor_core_attention = on; }

  // OK while the GPU can run steps; after a step failed with an error that ends the process's CUDA
  // context (IsStickyCudaError), Unavailable saying so, and every later step returns it at once.
  const absl::Status& usable() const { return lost_; }

  // Runs the batch and writes logit_tokens.size() rows of vocab_size floats into `logits`.
  absl::Status Forward(const ForwardBatch& batch, std::span<float> logits);
  // Runs the batch and picks one token per logit row on the device (logits never leave it):
  // ForwardDraw with every row drawn and no logit adjustments.
  absl::StatusOr<std::vector<int32_t>> ForwardSample(const ForwardBatch& batch,
                                                     std::span<const DeviceSamplingParams> params);
  // Runs the batch; logit row r with draws[r] set is adjusted and drawn on the device into
  // tokens[r], any other row is copied into row r of `logits` (logit rows x vocab_size floats;
  // empty when every row is drawn).
  absl::Status ForwardDraw(const ForwardBatch& batch, std::span<const DeviceDraw* const> draws,
                           std::span<float> logits, std::span<int32_t> tokens);

 private:
  struct Layer {
    DeviceBuffer<float> attn_norm, post_attn_norm, ffn_norm, post_ffn_norm;  // post_* Gemma 2 only
    // wqkv holds the Q, K and V rows, w_gate_up the gate rows then the up rows: Phi-3 ships them so,
    // the other families' wq, wk, wv, w_gate and w_up are stacked into them at load and emptied
    // (they exist only for LoadHfLayerWeights, shared with the CPU engine, to load into).
    DeviceMatrix wq, wk, wv, wqkv, wo, w_gate, w_up, w_gate_up, w_down;
    bool sliding = false;
  };
  class Loader;

  CudaTransformer(const ModelConfig& config, const CudaEngineOptions& options);
  // `checkpoint` null: random weights from `seed`.
  static absl::StatusOr<std::unique_ptr<CudaTransformer>> LoadFrom(const ModelConfig& config,
                                                                   const Checkpoint* checkpoint, uint64_t seed,
                                                                   const CudaEngineOptions& options);
  absl::Status Allocate();
  // Waits for the stream, then destroys the captured decode graphs (the next decodes recapture).
  absl::Status DropGraphs();
  // Checks the batch, uploads it, and runs (or replays) the forward pass up to the logits on the device.
  absl::Status Run(const ForwardBatch& batch);
  absl::Status Enqueue(int num_tokens, int num_logits, int num_decodes, int num_tiles);
  absl::Status RunForward(const ForwardBatch& batch, std::span<float> logits);
  absl::Status RunDraw(const ForwardBatch& batch, std::span<const DeviceDraw* const> draws, std::span<float> logits,
                       std::span<int32_t> tokens);
  // `step`, unless it failed because the CUDA context is gone: then lost_ is set and returned.
  absl::Status NoteLoss(absl::Status step);
  absl::Status Project(float* out, int out_stride, const float* x, int num_tokens, const DeviceMatrix& w);
  // Decode-sized steps run the mat-vec kernels; larger ones cuBLAS.
  bool UsesMatVec(int num_tokens) const { return num_tokens < options_.gemm_min_tokens; }

  ModelConfig config_;
  CudaEngineOptions options_;
  int max_blocks_per_seq_ = 0;
  int64_t num_kv_blocks_ = 0;
  int64_t weight_bytes_ = 0, decode_weight_bytes_ = 0;
  float embed_scale_ = 1;
  AttentionShape attention_;
  DType kv_dtype_ = DType::kF32;
  int decode_partitions_ = 1;
  absl::Status lost_;

  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::vector<DeviceBuffer<uint8_t>> weight_storage_;
  DeviceMatrix embed_, lm_head_;
  DeviceBuffer<float> final_norm_, inv_freq_;
  std::vector<Layer> layers_;
  DeviceBuffer<uint8_t> kv_cache_, cublas_workspace_;

  // Scratch for max_batch_tokens tokens.
  DeviceBuffer<float> x_, xn_, qkv_, att_, proj_, gate_up_, act_, logit_rows_, logits_;  // gate_up_: cuBLAS steps
  DeviceBuffer<uint16_t> bf16_x_;
  DeviceBuffer<float> attention_partials_;  // split-K scratch for max_seqs decodes, when partitions > 1
  // Batch inputs at fixed offsets (so captured graphs stay valid): tokens, positions, seq ids,
  // slots, logit rows, decode tokens (max_batch_tokens each), query tiles (2 x max_batch_tokens),
  // then block tables. Mirrored in pinned host memory.
  static constexpr int kTablesOffset = 8;  // in units of max_batch_tokens
  DeviceBuffer<int32_t> inputs_;
  AttentionPlan plan_;
  int32_t* host_inputs_ = nullptr;
  float* host_logits_ = nullptr;
  DeviceBuffer<DeviceSamplingParams> sampling_params_;
  DeviceBuffer<LogitEdit> logit_edits_;  // grown on demand
  std::vector<LogitEdit> host_edits_;
  std::vector<DeviceSamplingParams> host_params_;
  DeviceBuffer<int32_t> sampled_;
  // Decode graphs by batch size (num_tokens == num_logits == batch).
  absl::flat_hash_map<int, cudaGraphExec_t> graphs_;
};

}  // namespace cai::inference::cuda
