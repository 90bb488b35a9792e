#pragma once

#include <cstdint>
#include <string>

#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

// Turns generated token ids into text as they come, never splitting a UTF-8 character: an
// incomplete trailing sequence (byte-level tokens, <0xNN> byte-fallback tokens) is held back
// until the next token completes it, and bytes that can no longer form a character become
// U+FFFD. Token text is the tokenizer's TokenBytes ("▁" already " " for SentencePiece layouts),
// and the decoder's leading Strip (Phi-3: the first " ") is applied to the first text produced.
// Special tokens yield no text by default (vLLM's skip_special_tokens). Push outputs followed by
// Flush concatenate to Tokenizer::Decode of the same ids whenever that has no U+FFFD (for an
// invalid run of <0xNN> tokens Decode follows HF with one U+FFFD per token, while the stream,
// which cannot wait for the run to end, marks each maximal invalid subpart). Holds a reference
// to `tokenizer`, which must outlive it.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true)
      : tokenizer_(tokenizer),
        skip_special_tokens_(skip_special_tokens),
        strip_left_(tokenizer.leading_strip().count) {}

  // The text that `id` completes (often "", never a partial character).
  std::string Push(int32_t id);
  // Whatever is held back, an incomplete sequence as U+FFFD; the decoder is then empty.
  std::string Flush();

 private:
  std::string StripLeading(std::string text);

  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  int strip_left_;       // leading Strip copies still to remove; 0 once any text went out
  std::string pending_;  // at most 3 bytes between calls
};

}  // namespace cai::inference
