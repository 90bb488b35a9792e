#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "services/inference/engine/backends/cuda/cuda_transformer.h"
#include "services/inference/engine/flat_batch.h"
#include "services/inference/engine/forward_backend.h"

namespace cai::inference::cuda {

// A CudaTransformer as the scheduler's ForwardBackend: the same block ids index its device KV
// cache. Tokens are drawn on the GPU (bias and penalties applied there, Philox keyed by the
// choice's seed and draw number), so only a token per sequence crosses to the host; choices that
// report logprobs get their logits row back and are sampled by the CPU Sampler. Stop tokens,
// stop strings and text stay the host's (ChoiceStream) whatever the device.
class CudaBackend final : public ForwardBackend {
 public:
  explicit CudaBackend(std::unique_ptr<CudaTransformer> model);

  const ModelConfig& config() const override { return model_->config(); }
  std::string device_name() const override { return "cuda"; }
  int64_t context_length() const override;
  int64_t num_kv_blocks() const override { return model_->num_kv_blocks(); }
  int max_batch_tokens() const override { return model_->options().max_batch_tokens; }
  int max_batch_sequences() const override { return model_->options().max_seqs; }
  int max_logit_rows() const override { return model_->options().max_logit_rows; }
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) override;
  bool samples_on_device() const override { return true; }
  absl::Status ForwardBatchAndDraw(std::span<const BatchSequence> batch, std::span<const DeviceDraw* const> draws,
                                   std::span<float> logits, std::span<int32_t> tokens) override;
  absl::Status Usable() const override { return model_->usable(); }


 private:
  std::unique_ptr<CudaTransformer> model_;
  FlatBatch flat_;  // reused step to step
  // ForwardBatchAndDraw's draws and tokens by logit row, and each sequence's last row, when a
  // scored prompt has several rows.
  std::vector<const DeviceDraw*> row_draws_;
  std::vector<int32_t> row_tokens_;
  std::vector<size_t> last_rows_;
};

}  // namespace cai::inference::cuda
