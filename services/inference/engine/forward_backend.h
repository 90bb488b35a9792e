#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/inference/engine/model_config.h"
#include "services/inference/engine/sampler.h"
#include "services/inference/engine/batch_sequence.h"

namespace cai::inference {

// One next-token draw made by the backend (samples_on_device): the distribution is the logits
// adjusted by `adjustments`, then temperature -> min_p -> top_k -> top_p as Sampler; the random
// number is the `step`-th of the stream keyed by `seed`, so a draw does not depend on the batch.
struct DeviceDraw {
  float temperature = 1.0f;  // 0: greedy
  float top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.0f;
  uint64_t seed = 0;
  uint64_t step = 0;
  std::vector<LogitAdjustment> adjustments;
};

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
  // The most rows of logits one ForwardBatch writes (CountLogitRows): at least one per sequence,
  // and what is left beyond that scores prompts.
  virtual int max_logit_rows() const { return max_batch_sequences(); }

  // TransformerModel::ForwardBatch's contract: runs each sequence's new tokens, writes their keys
  // and values into the blocks of its table, and the logits of each sequence's last logit_rows
  // tokens into `logits` (CountLogitRows(batch) x vocab_size floats), sequence after sequence.
  virtual absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) = 0;

  // Backends that draw tokens where the logits are (a GPU, sparing the copy of a vocabulary-wide
  // row per sequence and the host's sampling) say so, and take ForwardBatchAndDraw: as
  // ForwardBatch, except that a sequence with draws[i] set gets its next token, drawn from the
  // logits of its last token, in tokens[i] (one entry per sequence), and that row of `logits` is
  // left unwritten.
  virtual bool samples_on_device() const { return false; }

  virtual absl::Status ForwardBatchAndDraw(std::span<const BatchSequence> /*batch*/,
                                           std::span<const DeviceDraw* const> /*draws*/,
                                           std::span<float> /*logits*/, std::span<int32_t> /*tokens*/) {
    return absl::UnimplementedError("this backend does not draw tokens itself");
  }

  // OK while the backend can run steps. After a fault it cannot recover from (a GPU whose CUDA
  // context an illegal address or an uncorrectable ECC error has ended), why not: no later step
  // will run, and only a new process can use the device again. It turns only in a step that
  // returns an error (so no request that step ran has succeeded).
  virtual absl::Status Usable() const { return absl::OkStatus(); }
};

}  // namespace cai::inference
