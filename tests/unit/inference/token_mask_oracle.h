#pragma once

// What JsonTokenMask::Allow must answer, found the slow way: a token fits when it is not special,
// has bytes, and `state` (a JsonPrefix or a JsonSchemaPrefix) takes them all. Shared by the mask's
// tests and its fuzz target.
#include <cstdint>
#include <string>
#include <vector>

#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference::testing {

// By token id, for `rows` ids (a model may pad its vocabulary: ids past the tokenizer's never fit).
template <typename State>
std::vector<uint8_t> TokensThatFit(const Tokenizer& tokenizer, const State& state, int32_t rows) {
  std::vector<uint8_t> fits(static_cast<size_t>(rows), 0);
  for (int32_t id = 0; id < rows && id < tokenizer.vocab_size(); ++id) {
    if (tokenizer.IsSpecial(id)) continue;
    const std::string bytes = tokenizer.TokenBytes(id);
    State copy = state;
    fits[id] = !bytes.empty() && copy.Feed(bytes) ? 1 : 0;
  }
  return fits;
}

}  // namespace cai::inference::testing
