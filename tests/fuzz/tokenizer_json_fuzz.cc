// Fuzzes the tokenizer.json parser (the input as a tokenizer.json) and the encoders (the input as
// text for a fixed byte-level tokenizer and a fixed SentencePiece-style one). Oracles: without
// special tokens, the text comes back exactly (byte-level: token bytes; SentencePiece: Decode,
// with "▁" read as " ", for valid UTF-8); streaming decode equals one-shot decode.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/inference/engine/tokenizer/bpe_trainer.h"
#include "services/inference/engine/tokenizer/stream_decoder.h"
#include "services/inference/engine/tokenizer/tokenizer.h"
#include "services/inference/engine/tokenizer/utf8.h"

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

// Gemma-like: Replace(" " -> "▁"), no pre-tokenizer, byte fallback, two special tokens.
const Tokenizer& FixedSentencePieceTokenizer() {
  static const Tokenizer* tokenizer = [] {
    const std::string meta = "\xE2\x96\x81";
    nlohmann::json vocab = {{"<unk>", 0}, {"<bos>", 1}, {"<eot>", 2}};
    int next = 3;
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      vocab[name] = next++;
    }
    std::vector<std::string> pieces = {meta, "a", "b", "t", "h", "e", meta + "t", "he", meta + "the",
                                       meta + meta, "\xD0\xBC", "\xE4\xBD\xA0"};
    for (const std::string& piece : pieces) vocab[piece] = next++;
    nlohmann::json merges = {meta + " t", "h e", meta + "t he", meta + " " + meta};
    nlohmann::json json = {
        {"added_tokens",
         {{{"id", 1}, {"content", "<bos>"}, {"special", true}, {"normalized", false}},
          {{"id", 2}, {"content", "<eot>"}, {"special", true}, {"normalized", false}}}},
        {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", meta}}},
        {"pre_tokenizer", nullptr},
        {"decoder",
         {{"type", "Sequence"},
          {"decoders",
           {{{"type", "Replace"}, {"pattern", {{"String", meta}}}, {"content", " "}},
            {{"type", "ByteFallback"}},
            {{"type", "Fuse"}}}}}},
        {"model",
         {{"type", "BPE"}, {"unk_token", "<unk>"}, {"fuse_unk", true}, {"byte_fallback", true},
          {"vocab", vocab}, {"merges", merges}}}};
    auto loaded = Tokenizer::FromJson(json.dump());
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
      std::abort();
    }
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

void ExerciseSentencePiece(const Tokenizer& tokenizer, std::string_view text) {
  std::string valid;
  cai::inference::AppendUtf8Lossy(text, /*final=*/true, &valid);
  for (bool allow_special : {false, true}) {
    std::vector<int32_t> ids = tokenizer.Encode(text, allow_special);
    StreamDecoder stream(tokenizer, /*skip_special_tokens=*/false);
    std::string streamed;
    for (int32_t id : ids) {
      Check(id >= 0 && id < tokenizer.vocab_size());
      Check(allow_special || !tokenizer.IsSpecial(id));
      streamed += stream.Push(id);
    }
    streamed += stream.Flush();
    std::string decoded = tokenizer.Decode(ids);
    if (valid == text) {  // then every byte run is valid UTF-8 and nothing is lost
      std::string expected;
      for (size_t pos = 0; pos < text.size();) {
        if (text.substr(pos).starts_with("\xE2\x96\x81")) {
          expected += ' ';
          pos += 3;
        } else {
          expected += text[pos++];
        }
      }
      if (!allow_special) Check(decoded == expected);
      Check(streamed == decoded);
    }
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
  ExerciseSentencePiece(FixedSentencePieceTokenizer(), input);
  return 0;
}
