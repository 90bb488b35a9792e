#include "services/inference/engine/json_token_mask.h"

#include "tests/unit/inference/token_mask_oracle.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cai::inference {
namespace {

std::unique_ptr<Tokenizer> GoldenTokenizer(const std::string& model) {
  auto tokenizer = Tokenizer::FromFile(std::string(CAI_GOLDEN_DIR) + "/models/" + model + "/tokenizer.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

// Feeds `text` to `state` a byte at a time and checks, in every state along it and after it, that
// the trie's answer is the one-token-at-a-time answer: a token is allowed exactly when it is not
// special, has bytes, and the state takes all of them. The text must end whole.
template <typename State>
void ExpectTheMaskOfEveryStateAlong(const Tokenizer& tokenizer, const JsonTokenMask& mask, State state,
                                    const std::string& text) {
  const int32_t padded_vocab = tokenizer.vocab_size() + 7;  // a model's rows past the tokenizer's
  int64_t total_allowed = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    std::vector<uint8_t> allowed(padded_vocab, 0);
    const int64_t count = mask.Allow(state, allowed);
    const std::vector<uint8_t> fits = testing::TokensThatFit(tokenizer, state, padded_vocab);
    int64_t expected_count = 0;
    for (int32_t id = 0; id < padded_vocab; ++id) {
      expected_count += fits[id];
      ASSERT_EQ(allowed[id], fits[id]) << "after " << i << " bytes, token " << id << " '"
                                       << (id < tokenizer.vocab_size() ? tokenizer.TokenBytes(id) : "") << "'";
    }
    EXPECT_EQ(count, expected_count);
    total_allowed += count;
    if (i < text.size()) {
      ASSERT_TRUE(state.Feed(static_cast<uint8_t>(text[i])));
    }
  }
  EXPECT_GT(total_allowed, 0);
  // Once the text is whole no token fits: the caller allows the stop tokens.
  ASSERT_TRUE(state.complete());
  std::vector<uint8_t> allowed(padded_vocab, 0);
  EXPECT_EQ(mask.Allow(state, allowed), 0);
}

// Along an object that visits each kind of state (keys, strings, escapes, numbers, literals,
// nesting, UTF-8), for the byte-level (Llama 3) and the SentencePiece (Gemma 2, Phi-3) layouts.
class JsonTokenMaskTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    tokenizer_ = GoldenTokenizer(GetParam());
    ASSERT_NE(tokenizer_, nullptr);
    mask_.emplace(*tokenizer_);
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<JsonTokenMask> mask_;
};

TEST_P(JsonTokenMaskTest, AllowsExactlyTheTokensJsonPrefixTakes) {
  const Tokenizer& tokenizer = *tokenizer_;
  const JsonTokenMask& mask = *mask_;
  ExpectTheMaskOfEveryStateAlong(
      tokenizer, mask, JsonPrefix(),
      " {\"key\": [1, -2.5e+3, true, null, \"caf\xC3\xA9 \\n \\u00e9\"], \"nested\": {\"x\": {}}, \"n\": 0}");
}

// With a schema: property names and enum values (walked in full), free strings (the shortcut sets),
// integers, a free value, nesting.
TEST_P(JsonTokenMaskTest, AllowsExactlyTheTokensJsonSchemaPrefixTakes) {
  const Tokenizer& tokenizer = *tokenizer_;
  const JsonTokenMask& mask = *mask_;
  absl::StatusOr<std::shared_ptr<const JsonSchema>> schema = JsonSchema::Parse(R"({"type": "object",
      "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "mood": {"enum": ["calm", "cross", 12]},
                     "tags": {"type": "array", "items": {"type": ["string", "null"]}, "maxItems": 2},
                     "extra": {},
                     "pet": {"anyOf": [{"type": "object", "properties": {"kind": {"const": "cat"}}},
                                       {"type": "object", "properties": {"kind": {"const": "dog"}, "n": {}}}]}},
      "required": ["name", "age"], "additionalProperties": false})");
  ASSERT_TRUE(schema.ok()) << schema.status();
  ExpectTheMaskOfEveryStateAlong(
      tokenizer, mask, JsonSchemaPrefix(**schema),
      "{\"mood\": \"cross\", \"name\": \"caf\xC3\xA9 \\\"x\\\"\", \"tags\": [null, \"a\"],\n \"age\": -12,"
      " \"extra\": {\"k\": [1.5e3, true]}, \"pet\": {\"n\": 1, \"kind\": \"dog\"}}");
}

// Along a tool call: the fixed text, names that share a prefix ("get", "get_weather"), and the
// chosen tool's arguments.
TEST_P(JsonTokenMaskTest, AllowsExactlyTheTokensToolCallPrefixTakes) {
  const Tokenizer& tokenizer = *tokenizer_;
  const JsonTokenMask& mask = *mask_;
  auto tools = ToolSet::Compile(
      {{.name = "get", .parameters = ""},
       {.name = "get_weather",
        .parameters = R"({"type": "object", "properties": {"city": {"type": "string"},
                          "unit": {"enum": ["C", "F"]}, "days": {"type": "integer"}}, "required": ["city"]})"},
       {.name = "add", .parameters = R"({"type": "object", "properties": {"a": {"type": "number"}}})"}});
  ASSERT_TRUE(tools.ok()) << tools.status();
  ExpectTheMaskOfEveryStateAlong(tokenizer, mask, ToolCallPrefix(**tools),
                                 "{\"name\": \"get_weather\", \"parameters\": {\"days\": 3, \"city\": \"Par\\\"is\", "
                                 "\"unit\": \"F\"}}");
}

// Along a reply that may be a call or the JSON answer: both readings at first, then the answer's.
TEST_P(JsonTokenMaskTest, AllowsExactlyTheTokensCallOrJsonPrefixTakes) {
  const Tokenizer& tokenizer = *tokenizer_;
  const JsonTokenMask& mask = *mask_;
  auto tools = ToolSet::Compile({{.name = "nap", .parameters = ""},
                                 {.name = "note", .parameters = R"({"type": "object", "properties": {"n": {}}})"}});
  ASSERT_TRUE(tools.ok()) << tools.status();
  auto answer = JsonSchema::Parse(R"({"type": "object", "properties": {"na": {"type": "string"},
                                        "x": {"enum": [1, 2]}}, "required": ["na"]})");
  ASSERT_TRUE(answer.ok()) << answer.status();
  ExpectTheMaskOfEveryStateAlong(tokenizer, mask, CallOrJsonPrefix(ToolCallPrefix(**tools), JsonSchemaPrefix(**answer)),
                                 "{\"na\": \"caf\xC3\xA9\", \"x\": 2}");
  ExpectTheMaskOfEveryStateAlong(tokenizer, mask, CallOrJsonPrefix(ToolCallPrefix(**tools), JsonPrefix()),
                                 "{\"name\": \"note\", \"parameters\": {\"n\": [\"a b\"]}}");
}

// A reply that is text under tool_choice auto: every token that has bytes and is not special, unless
// it begins with '{'.
TEST_P(JsonTokenMaskTest, AllowsEveryTokenThatMayBeginText) {
  const Tokenizer& tokenizer = *tokenizer_;
  const JsonTokenMask& mask = *mask_;
  std::vector<uint8_t> allowed(static_cast<size_t>(tokenizer.vocab_size()) + 3, 0);
  const int64_t count = mask.AllowTextStart(allowed);
  int64_t expected = 0, brace_tokens = 0;
  for (int32_t id = 0; id < static_cast<int32_t>(allowed.size()); ++id) {
    const std::string bytes = id < tokenizer.vocab_size() ? tokenizer.TokenBytes(id) : "";
    const bool special = id < tokenizer.vocab_size() && tokenizer.IsSpecial(id);
    const bool fits = !special && !bytes.empty() && bytes[0] != '{';
    brace_tokens += !special && !bytes.empty() && bytes[0] == '{';
    expected += fits;
    ASSERT_EQ(allowed[id], fits ? 1 : 0) << "token " << id << " '" << bytes << "'";
  }
  EXPECT_EQ(count, expected);
  EXPECT_GT(brace_tokens, 0);
}

INSTANTIATE_TEST_SUITE_P(GoldenTokenizers, JsonTokenMaskTest, ::testing::Values("llama3", "gemma2", "phi3"));

TEST(JsonTokenMaskTest, SharesPrefixesInTheTrie) {
  std::unique_ptr<Tokenizer> tokenizer = GoldenTokenizer("llama3");
  ASSERT_NE(tokenizer, nullptr);
  size_t bytes = 0;
  for (int32_t id = 0; id < tokenizer->vocab_size(); ++id) {
    if (!tokenizer->IsSpecial(id)) bytes += tokenizer->TokenBytes(id).size();
  }
  const JsonTokenMask mask(*tokenizer);
  EXPECT_LT(mask.nodes(), bytes) << "a node per byte of every token would share nothing";
}

}  // namespace
}  // namespace cai::inference
