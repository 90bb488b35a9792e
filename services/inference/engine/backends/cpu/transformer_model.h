#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/backends/cpu/kv_cache.h"
#include "services/inference/engine/backends/cpu/paged_kv_cache.h"
#include "services/inference/engine/backends/cpu/thread_pool.h"
#include "services/inference/engine/backends/cpu/weight_matrix.h"
#include "services/inference/engine/batch_sequence.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/model_config.h"

namespace cai::inference {

// A decoder-only transformer on the CPU: Llama/Mistral, Gemma 2 and Phi-3 (ModelFamily). Matrices
// are stored as F32 or BF16 (BF16 checkpoints stay BF16, F32 stays F32, F16 is widened to F32);
// norms, activations and accumulation are F32. The weights are read-only after Load, so any
// number of sequences (each with its own KvCache) may run Forward concurrently.
class TransformerModel {
 public:
  // Copies every tensor it needs out of `checkpoint`, which may be closed afterwards.
  static absl::StatusOr<std::unique_ptr<TransformerModel>> Load(const ModelConfig& config,
                                                                const Checkpoint& checkpoint, int num_threads);
  // Borrows F32 and BF16 matrices from the memory-mapped checkpoint instead of copying them; the
  // model keeps `checkpoint` alive. `num_threads` <= 0 uses every core.
  static absl::StatusOr<std::unique_ptr<TransformerModel>> Load(const ModelConfig& config,
                                                                std::shared_ptr<const Checkpoint> checkpoint,
                                                                int num_threads);

  const ModelConfig& config() const { return config_; }
  int64_t num_parameters() const { return num_parameters_; }
  // Weight bytes one decode step reads: every layer matrix and the output head.
  int64_t decode_weight_bytes() const { return decode_weight_bytes_; }
  int num_threads() const { return pool_->num_threads(); }

  KvCache NewCache() const;

  // Runs `tokens` at positions cache.length, cache.length + 1, ..., appends their keys and values
  // to `cache`, and writes the logits of the last token into `logits` (vocab_size floats).
  // Prefill passes the whole prompt at once (matrix-matrix); decode passes one token.
  absl::Status Forward(std::span<const int32_t> tokens, KvCache& cache, std::span<float> logits) const;

  // A paged cache of `num_blocks` blocks shaped for this model.
  PagedKvCache NewPagedCache(int64_t num_blocks) const;
  int64_t kv_block_bytes() const;

  // One step of many sequences at once: every sequence's new tokens become rows of the same
  // matrix products, so each weight is read once per step however many sequences run (the
  // reason batching pays on a memory-bound CPU); attention runs per sequence over its blocks.
  // Writes the keys and values of the new positions into `cache` and the logits of each
  // sequence's last logit_rows tokens into `logits` (CountLogitRows(batch) x vocab_size floats,
  // sequence after sequence). A row's result does not depend on which other sequences share the
  // step.
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, PagedKvCache& cache,
                            std::span<float> logits) const;

 private:
  struct Layer {
    // Gemma 2: attn_norm/post_attn_norm/ffn_norm/post_ffn_norm are input/post_attention/
    // pre_feedforward/post_feedforward_layernorm. Others: input/post_attention_layernorm, no post_*.
    std::vector<float> attn_norm, post_attn_norm, ffn_norm, post_ffn_norm;
    WeightMatrix wq, wk, wv, wqkv;       // wqkv (Phi-3) holds the Q, K and V rows in one matrix
    WeightMatrix wo;
    WeightMatrix w_gate, w_up, w_gate_up;  // w_gate_up (Phi-3): gate rows, then up rows
    WeightMatrix w_down;
    bool sliding = false;
  };
  class Loader;

  TransformerModel(const ModelConfig& config, int num_threads);
  static absl::StatusOr<std::unique_ptr<TransformerModel>> LoadWeights(const ModelConfig& config,
                                                                       const Checkpoint& checkpoint,
                                                                       bool borrow, int num_threads);
  // Where keys and values live: per layer a base pointer into blocks of `block_positions`
  // positions (a KvCache is a single block as long as its capacity).
  struct KvStore {
    std::vector<float*> k, v;
    size_t block_positions = 0;
  };
  absl::Status CheckTokens(std::span<const int32_t> tokens, int64_t start) const;
  // The forward pass over every row of `batch`; null `logits`: skip the output head.
  void Run(std::span<const BatchSequence> batch, const KvStore& kv, float* logits) const;
  void Norm(float* out, const float* x, const std::vector<float>& weight, size_t tokens) const;

  ModelConfig config_;
  std::vector<float> inv_freq_;  // RoPE, head_dim / 2
  float embed_scale_ = 1;        // Gemma 2: sqrt(hidden_size), rounded to the embedding dtype
  WeightMatrix embed_, lm_head_;  // lm_head_ empty when tied to embed_
  std::vector<float> final_norm_;
  std::vector<Layer> layers_;
  int64_t num_parameters_ = 0;
  int64_t decode_weight_bytes_ = 0;
  std::shared_ptr<const Checkpoint> checkpoint_;  // owns borrowed weights; may be null
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace cai::inference
