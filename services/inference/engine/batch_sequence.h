#pragma once

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace cai::inference {

// One sequence's share of a batched forward step, whatever the device.
struct BatchSequence {
  std::span<const int32_t> tokens;       // new tokens: a prefill chunk, or one decode token
  int64_t start = 0;                     // position of tokens[0]; [0, start) is already cached
  std::span<const int32_t> block_table;  // blocks covering [0, start + tokens.size())
  // The logits of the chunk's last `logit_rows` tokens are wanted (1..tokens.size()): more than one
  // only when a prompt is scored (completions' echo with logprobs).
  int32_t logit_rows = 1;
};

// Rows of logits a step writes: each sequence's logit_rows, one sequence after another.
inline size_t CountLogitRows(std::span<const BatchSequence> batch) {
  size_t rows = 0;
  for (const BatchSequence& seq : batch) rows += static_cast<size_t>(seq.logit_rows);
  return rows;
}

// CountLogitRows, for a backend to check first: InvalidArgument when a sequence asks for no row or
// more rows than it has tokens.
inline absl::StatusOr<size_t> CheckedLogitRows(std::span<const BatchSequence> batch) {
  for (const BatchSequence& seq : batch) {
    if (seq.logit_rows < 1 || static_cast<size_t>(seq.logit_rows) > seq.tokens.size()) {
      return absl::InvalidArgumentError("forward: a sequence wants logits of 1..its tokens");
    }
  }
  return CountLogitRows(batch);
}

}  // namespace cai::inference
