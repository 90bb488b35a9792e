#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "services/inference/engine/forward_backend.h"

namespace cai::inference::testing {

// A backend that passes everything on to a real one (the CPU engine): a test derives from it and
// overrides only what its backend does differently (draws tokens itself, loses its device).
class ForwardingBackend : public ForwardBackend {
 public:
  explicit ForwardingBackend(ForwardBackend& inner) : inner_(inner) {}

  const ModelConfig& config() const override { return inner_.config(); }
  std::string device_name() const override { return inner_.device_name(); }
  int64_t context_length() const override { return inner_.context_length(); }
  int64_t num_kv_blocks() const override { return inner_.num_kv_blocks(); }
  int max_batch_tokens() const override { return inner_.max_batch_tokens(); }
  int max_batch_sequences() const override { return inner_.max_batch_sequences(); }
  int max_logit_rows() const override { return inner_.max_logit_rows(); }
  absl::Status ForwardBatch(std::span<const BatchSequence> batch, std::span<float> logits) override {
    return inner_.ForwardBatch(batch, logits);
  }

 protected:
  ForwardBackend& inner_;
};

}  // namespace cai::inference::testing
