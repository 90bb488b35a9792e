// Fuzzes JSON mode's vocabulary mask: the input, fed to JsonPrefix up to the first byte it refuses,
// picks a state; JsonTokenMask::Allow's answer there must equal the token-by-token brute force
// (a token fits when it is not special, has bytes, and JsonPrefix takes them all). This checks the
// mask's shortcuts (the sets computed once for string positions) in whatever states the fuzzer
// reaches, on a byte-level tokenizer trained on JSON text so that many tokens span structure.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "services/inference/engine/json_token_mask.h"
#include "services/inference/engine/tokenizer/bpe_trainer.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace {

using cai::inference::JsonPrefix;
using cai::inference::JsonTokenMask;
using cai::inference::Tokenizer;

const Tokenizer& JsonTrainedTokenizer() {
  static const Tokenizer* tokenizer = [] {
    auto json = cai::inference::TrainByteLevelBpeTokenizerJson(
        R"({"name": "Ada Lovelace", "born": 1815, "ratio": -2.5e+3, "ok": true, "none": null,)"
        R"( "list": [1, 2, 3], "nested": {"a": {"b": []}}, "text": "caf\u00e9 \"quoted\" \\n \/",)"
        "\n  \"utf8\": \"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\", \"empty\": \"\"}\n"
        R"({"k":"v"},{"k2":[{"x":0}]}]}} "\" \\ \ud83d\ude00")",
        300, {"<|end_of_text|>"});
    if (!json.ok()) std::abort();
    auto loaded = Tokenizer::FromJson(*json);
    if (!loaded.ok()) std::abort();
    return loaded->release();
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizer& tokenizer = JsonTrainedTokenizer();
  static const JsonTokenMask* mask = new JsonTokenMask(tokenizer);
  JsonPrefix state;
  for (size_t i = 0; i < size && state.Feed(data[i]); ++i) {
  }
  std::vector<uint8_t> allowed(static_cast<size_t>(tokenizer.vocab_size()), 0);
  const int64_t count = mask->Allow(state, allowed);
  int64_t expected_count = 0;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const std::string bytes = tokenizer.TokenBytes(id);
    JsonPrefix copy = state;
    const bool fits = !tokenizer.IsSpecial(id) && !bytes.empty() && copy.Feed(bytes);
    if (fits != (allowed[id] != 0)) std::abort();
    expected_count += fits ? 1 : 0;
  }
  if (count != expected_count) std::abort();
  return 0;
}
