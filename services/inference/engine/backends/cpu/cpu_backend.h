#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "services/inference/engine/backends/cpu/paged_kv_cache.h"
#include "services/inference/engine/backends/cpu/transformer_model.h"
#include "services/inference/engine/forward_backend.h"

namespace cai::inference {

// The CPU engine as a ForwardBackend: a TransformerModel (borrowed; it must outlive the backend)
// and a paged KV cache of `kv_cache_bytes` (rounded down to whole blocks). Sequences may reach
// `max_context` positions (0 or more than the model's: the model's).
class CpuBackend final : public ForwardBackend {
 public:
  CpuBackend(const TransformerModel& model, int64_t kv_cache_bytes, int64_t max_context = 0);

  // Room for two sequences of `context` positions, but at most a quarter of
  // `physical_memory_bytes` (Llama 3.1's 128k context would ask for far more than is used in
  // practice) and at least 64 MiB.
  static int64_t DefaultKvCacheBytes(const TransformerModel& model, int64_t context, int64_t physical_memory_bytes);

  const ModelConfig& config() const override { return model_.config(); }
  std::string device_name() const override { return "cpu"; }
  int64_t context_length() const override { return context_; }
  int64_t num_kv_blocks() const override { return cache_.num_blocks(); }
  // Scratch grows with the batch, so only the scheduler's own limits apply.
  int max_batch_tokens() const override { return kUnlimited; }
  int max_batch_sequences() const override { return kUnlimited; }
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) override;


 private:
  static constexpr int kUnlimited = 1 << 30;

  const TransformerModel& model_;
  const int64_t context_;
  PagedKvCache cache_;
};

}  // namespace cai::inference
