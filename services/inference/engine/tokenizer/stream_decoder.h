#pragma once

#include <cstdint>
#include <string>

#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

// Turns generated token ids into text as they come, never splitting a UTF-8 character: an
// incomplete trailing sequence is held back until the next token completes it, and bytes that
// can no longer form a character become U+FFFD. Special tokens yield no text by default
// (vLLM's skip_special_tokens). Push outputs followed by Flush concatenate to the lossy UTF-8
// decoding of all non-skipped tokens. Holds a reference to `tokenizer`, which must outlive it.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true)
      : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

  // The text that `id` completes (often "", never a partial character).
  std::string Push(int32_t id);
  // Whatever is held back, an incomplete sequence as U+FFFD; the decoder is then empty.
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;  // at most 3 bytes between calls
};

}  // namespace cai::inference
