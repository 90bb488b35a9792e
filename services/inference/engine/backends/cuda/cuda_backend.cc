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
  const cuda::ForwardBatch step{flat_.tokens, flat_.positions, flat_.seq_ids, flat_.block_tables, flat_.logit_tokens};
  if (flat_.logit_tokens.size() == batch.size()) return model_->ForwardDraw(step, draws, logits, tokens);
  // A scored prompt has several rows: a sequence's draw is made from its last, the rows before it
  // come back.
  last_rows_.clear();
  size_t rows = 0;
  for (const BatchSequence& seq : batch) {
    rows += static_cast<size_t>(seq.logit_rows);
    last_rows_.push_back(rows - 1);
  }
  row_draws_.assign(rows, nullptr);
  row_tokens_.assign(rows, -1);
  for (size_t s = 0; s < batch.size(); ++s) row_draws_[last_rows_[s]] = draws[s];
  CAI_RETURN_IF_ERROR(model_->ForwardDraw(step, row_draws_, logits, row_tokens_));
  for (size_t s = 0; s < batch.size(); ++s) tokens[s] = row_tokens_[last_rows_[s]];
  return absl::OkStatus();
}

}  // namespace cai::inference::cuda
