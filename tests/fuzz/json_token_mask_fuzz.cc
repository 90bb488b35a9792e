// Fuzzes JSON mode's vocabulary mask: the input, fed to JsonPrefix (or, after an 'S', to a
// JsonSchemaPrefix) up to the first byte it refuses, picks a state; JsonTokenMask::Allow's answer
// there must equal the token-by-token brute force (token_mask_oracle.h). This checks the
// mask's shortcuts (the sets computed once for string positions) in whatever states the fuzzer
// reaches, on a byte-level tokenizer trained on JSON text so that many tokens span structure.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include "services/inference/engine/json_schema.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "services/inference/engine/json_token_mask.h"
#include "services/inference/engine/tokenizer/bpe_trainer.h"
#include "services/inference/engine/tokenizer/tokenizer.h"
#include "tests/unit/inference/token_mask_oracle.h"

namespace {

using cai::inference::JsonPrefix;
using cai::inference::JsonSchema;
using cai::inference::JsonSchemaPrefix;
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

// A schema with a node of every kind (nested and recursive objects, enums whose values extend one
// another, nullable values, bounded arrays, integers, free values, objects told apart), for inputs
// that start with 'S'.
const JsonSchema& TestSchema() {
  static const std::shared_ptr<const JsonSchema> schema = [] {
    auto compiled = JsonSchema::Parse(R"({"type": "object", "properties": {
        "name": {"type": "string"}, "age": {"type": "integer"}, "score": {"type": "number"},
        "mood": {"enum": ["calm", "cross", 1, 12, null, {"k": [true]}]}, "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": ["string", "null"]}, "maxItems": 3},
        "home": {"anyOf": [{"type": "null"}, {"$ref": "#"}]}, "extra": {},
        "k\"ey": {"const": "caf\u00e9"},
        "pet": {"anyOf": [{"type": "object", "properties": {"kind": {"const": "cat"}, "meow": {"type": "boolean"}},
                           "required": ["kind"]},
                          {"type": "object", "properties": {"kind": {"const": "dog"}, "age": {"type": "integer"}}}]}},
        "required": ["name", "mood"], "additionalProperties": false})");
    if (!compiled.ok()) std::abort();
    return *compiled;
  }();
  return *schema;
}

// Feeds `text` to `state` up to the first byte it refuses, then checks the mask there.
template <typename State>
void Check(const Tokenizer& tokenizer, const JsonTokenMask& mask, State state, std::string_view text) {
  for (size_t i = 0; i < text.size() && state.Feed(static_cast<uint8_t>(text[i])); ++i) {
  }
  std::vector<uint8_t> allowed(static_cast<size_t>(tokenizer.vocab_size()), 0);
  const int64_t count = mask.Allow(state, allowed);
  const std::vector<uint8_t> fits = cai::inference::testing::TokensThatFit(tokenizer, state, tokenizer.vocab_size());
  if (allowed != fits) std::abort();
  if (count != std::count(fits.begin(), fits.end(), 1)) std::abort();
}

}  // namespace

// Input: the text, fed to JsonPrefix; or 'S' and the text, fed to JsonSchemaPrefix over TestSchema().
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizer& tokenizer = JsonTrainedTokenizer();
  static const JsonTokenMask* mask = new JsonTokenMask(tokenizer);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == 'S') {
    Check(tokenizer, *mask, JsonSchemaPrefix(TestSchema()), input.substr(1));
  } else {
    Check(tokenizer, *mask, JsonPrefix(), input);
  }
  return 0;
}
