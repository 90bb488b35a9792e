#include "services/inference/engine/backends/cuda/cuda_backend.h"

#include <algorithm>

namespace cai::inference::cuda {

CudaBackend::CudaBackend(std::unique_ptr<CudaTransformer> model) : model_(std::move(model)) {}

int64_t CudaBackend::context_length() const {
  return std::min<int64_t>(model_->config().max_position_embeddings,
                           int64_t{model_->max_blocks_per_seq()} * kKvBlockSize);
}

absl::Status CudaBackend::ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) {
  if (absl::Status flat = FlattenBatch(batch, model_->max_blocks_per_seq(), flat_); !flat.ok()) return flat;
  const cuda::ForwardBatch step{flat_.tokens, flat_.positions, flat_.seq_ids, flat_.block_tables, flat_.logit_tokens};
  return model_->Forward(step, logits);
}

absl::Status CudaBackend::ForwardBatchAndDraw(std::span<const BatchSequence> batch,
                                              std::span<const DeviceDraw* const> draws, std::span<float> logits,
                                              std::span<int32_t> tokens) {
  if (absl::Status flat = FlattenBatch(batch, model_->max_blocks_per_seq(), flat_); !flat.ok()) return flat;
  const cuda::ForwardBatch step{flat_.tokens, flat_.positions, flat_.seq_ids, flat_.block_tables, flat_.logit_tokens};
  return model_->ForwardDraw(step, draws, logits, tokens);
}

}  // namespace cai::inference::cuda
