#include "services/inference/engine/backends/cpu/cpu_backend.h"

#include <algorithm>

namespace cai::inference {

CpuBackend::CpuBackend(const TransformerModel& model, int64_t kv_cache_bytes, int64_t max_context)
    : model_(model),
      context_(max_context > 0 ? std::min<int64_t>(max_context, model.config().max_position_embeddings)
                               : model.config().max_position_embeddings),
      cache_(model.NewPagedCache(std::max<int64_t>(0, kv_cache_bytes / model.kv_block_bytes()))) {}

int64_t CpuBackend::DefaultKvCacheBytes(const TransformerModel& model, int64_t context,
                                        int64_t physical_memory_bytes) {
  const int64_t two_contexts = 2 * KvBlocksFor(context) * model.kv_block_bytes();
  return std::max<int64_t>(std::min<int64_t>(two_contexts, physical_memory_bytes / 4), int64_t{64} << 20);
}

absl::Status CpuBackend::ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) {
  return model_.ForwardBatch(batch, cache_, logits);
}

}  // namespace cai::inference
