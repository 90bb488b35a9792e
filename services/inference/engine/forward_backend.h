#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "services/inference/engine/model_config.h"
#include "services/inference/engine/transformer_model.h"

namespace cai::inference {

// Where the scheduler's batched forward steps run: the CPU engine or a GPU. A backend owns the
// model's weights on its device and a paged KV cache of num_kv_blocks() blocks of kKvBlockSize
// positions; the scheduler owns which sequence holds which block (a BlockAllocator over the same
// ids) and passes the block tables in every step, so it is the same for every device.
// Not thread-safe: one scheduler drives a backend.
class ForwardBackend {
 public:
  virtual ~ForwardBackend() = default;

  virtual const ModelConfig& config() const = 0;
  // "cpu" or "cuda": logs and the model list.
  virtual std::string device_name() const = 0;
  // Positions one sequence may reach (prompt and generated tokens together).
  virtual int64_t context_length() const = 0;
  virtual int64_t num_kv_blocks() const = 0;
  // The most tokens and sequences one ForwardBatch takes.
  virtual int max_batch_tokens() const = 0;
  virtual int max_batch_sequences() const = 0;

  // TransformerModel::ForwardBatch's contract: runs each sequence's new tokens, writes their keys
  // and values into the blocks of its table, and the logits of each sequence's last token into
  // row i of `logits` (batch.size() x vocab_size floats).
  virtual absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) = 0;
};

}  // namespace cai::inference
