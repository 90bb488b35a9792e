#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/checkpoint.h"
#include "services/inference/engine/kv_cache.h"
#include "services/inference/engine/model_config.h"
#include "services/inference/engine/thread_pool.h"

namespace cai::inference {

// A Llama-architecture decoder with float32 weights on the CPU. The weights are read-only after
// Load, so any number of sequences (each with its own KvCache) may run Forward concurrently.
class LlamaModel {
 public:
  // Reads every tensor by its Hugging Face name, checks its shape against `config`, and widens
  // it to float32. `num_threads` <= 0 uses every core.
  static absl::StatusOr<std::unique_ptr<LlamaModel>> Load(const LlamaConfig& config,
                                                          const Checkpoint& checkpoint, int num_threads);

  const LlamaConfig& config() const { return config_; }
  int64_t num_parameters() const { return num_parameters_; }
  int num_threads() const { return pool_->num_threads(); }

  KvCache NewCache() const;

  // Runs `tokens` at positions cache.length, cache.length + 1, ..., appends their keys and values
  // to `cache`, and writes the logits of the last token into `logits` (vocab_size floats).
  // Prefill passes the whole prompt at once (matrix-matrix); decode passes one token.
  absl::Status Forward(std::span<const int32_t> tokens, KvCache& cache, std::span<float> logits) const;

 private:
  struct Layer {
    std::vector<float> input_norm, wq, wk, wv, wo, post_norm, w_gate, w_up, w_down;
  };

  LlamaModel(const LlamaConfig& config, int num_threads);
  // Empty `logits`: skip the output head (an inner prefill chunk).
  absl::Status ForwardChunk(std::span<const int32_t> tokens, KvCache& cache, std::span<float> logits) const;

  LlamaConfig config_;
  std::vector<float> inv_freq_;  // RoPE, head_dim / 2
  std::vector<float> embed_, final_norm_, lm_head_;  // lm_head_ empty when tied to embed_
  std::vector<Layer> layers_;
  int64_t num_parameters_ = 0;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace cai::inference
