#pragma once

#include <cstdint>
#include <span>

namespace cai::inference {

// One sequence's share of a batched forward step, whatever the device.
struct BatchSequence {
  std::span<const int32_t> tokens;       // new tokens: a prefill chunk, or one decode token
  int64_t start = 0;                     // position of tokens[0]; [0, start) is already cached
  std::span<const int32_t> block_table;  // blocks covering [0, start + tokens.size())
};

}  // namespace cai::inference
