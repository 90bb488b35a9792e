#include "services/inference/engine/backends/cuda/cuda_backend.h"

#include <algorithm>

#include "lib/common/status_macros.h"

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
  if (draws.size() != batch.size() || tokens.size() != batch.size()) {
    return absl::InvalidArgumentError("cuda forward: draws and tokens need one entry per sequence");
  }
  // A sequence's draw is made from its last row; the rows before it (a scored prompt) come back.
  row_draws_.assign(flat_.logit_tokens.size(), nullptr);
  row_tokens_.assign(flat_.logit_tokens.size(), -1);
  size_t last_row = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    last_row += static_cast<size_t>(batch[s].logit_rows);
    row_draws_[last_row - 1] = draws[s];
  }
  const cuda::ForwardBatch step{flat_.tokens, flat_.positions, flat_.seq_ids, flat_.block_tables, flat_.logit_tokens};
  CAI_RETURN_IF_ERROR(model_->ForwardDraw(step, row_draws_, logits, row_tokens_));
  last_row = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    last_row += static_cast<size_t>(batch[s].logit_rows);
    tokens[s] = row_tokens_[last_row - 1];
  }
  return absl::OkStatus();
}

}  // namespace cai::inference::cuda
