// Fuzzes the tokenizer.json parser (the input as a tokenizer.json) and the encoder (the input as
// text for a fixed trained tokenizer). Oracles: without special tokens, the token bytes
// concatenate back to the input exactly; streaming decode equals one-shot decode.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "services/inference/engine/tokenizer/bpe_trainer.h"
#include "services/inference/engine/tokenizer/stream_decoder.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace {

using cai::inference::StreamDecoder;
using cai::inference::Tokenizer;

const Tokenizer& FixedTokenizer() {
  static const Tokenizer* tokenizer = [] {
    auto json = cai::inference::TrainByteLevelBpeTokenizerJson(
        "The quick brown fox jumps over the lazy dog. Привет, мир! 你好世界 12345 "
        "int main() { return 0; }\n\n    the the the there then",
        120, {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"});
    if (!json.ok()) std::abort();
    auto loaded = Tokenizer::FromJson(*json);
    if (!loaded.ok()) std::abort();
    return loaded->release();
  }();
  return *tokenizer;
}

void Check(bool condition) {
  if (!condition) std::abort();
}

void ExerciseEncoder(const Tokenizer& tokenizer, std::string_view text) {
  for (bool allow_special : {false, true}) {
    std::vector<int32_t> ids = tokenizer.Encode(text, allow_special);
    std::string bytes;
    StreamDecoder stream(tokenizer, /*skip_special_tokens=*/false);
    std::string streamed;
    for (int32_t id : ids) {
      Check(id >= 0 && id < tokenizer.vocab_size());
      Check(allow_special || !tokenizer.IsSpecial(id));
      bytes += tokenizer.TokenBytes(id);
      streamed += stream.Push(id);
    }
    streamed += stream.Flush();
    Check(bytes == text);
    Check(streamed == tokenizer.Decode(ids));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = Tokenizer::FromJson(input);
  if (parsed.ok()) {
    const Tokenizer& tokenizer = **parsed;
    std::vector<int32_t> ids = tokenizer.Encode("Hello <|eot_id|> мир 😀 12345\n\n  x", true);
    tokenizer.Decode(ids);
    for (int32_t id = -1; id <= tokenizer.vocab_size() && id < 1024; ++id) {
      tokenizer.TokenBytes(id);
      tokenizer.IsSpecial(id);
    }
  }
  ExerciseEncoder(FixedTokenizer(), input);
  return 0;
}
