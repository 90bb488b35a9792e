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
// cache. Logits come back to the host, so sampling, stop strings and logprobs stay the CPU
// engine's (ChoiceStream) and a request's tokens are chosen by the same code on every device.
class CudaBackend final : public ForwardBackend {
 public:
  explicit CudaBackend(std::unique_ptr<CudaTransformer> model);

  const ModelConfig& config() const override { return model_->config(); }
  std::string device_name() const override { return "cuda"; }
  int64_t context_length() const override;
  int64_t num_kv_blocks() const override { return model_->num_kv_blocks(); }
  int max_batch_tokens() const override { return model_->options().max_batch_tokens; }
  int max_batch_sequences() const override { return model_->options().max_seqs; }
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) override;

  const CudaTransformer& model() const { return *model_; }

 private:
  std::unique_ptr<CudaTransformer> model_;
  FlatBatch flat_;  // reused step to step
};

}  // namespace cai::inference::cuda
