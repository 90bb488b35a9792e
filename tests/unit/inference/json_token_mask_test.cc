#include "services/inference/engine/json_token_mask.h"

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

// The trie's answer is the one-token-at-a-time answer: a token is allowed exactly when it is not
// special, has bytes, and JsonPrefix takes all of them. Checked in every state along an object
// that visits each kind of state (keys, strings, escapes, numbers, literals, nesting, UTF-8), for
// the byte-level (Llama 3) and the SentencePiece (Gemma 2, Phi-3) layouts.
class JsonTokenMaskTest : public ::testing::TestWithParam<std::string> {};

TEST_P(JsonTokenMaskTest, AllowsExactlyTheTokensJsonPrefixTakes) {
  std::unique_ptr<Tokenizer> tokenizer = GoldenTokenizer(GetParam());
  ASSERT_NE(tokenizer, nullptr);
  const JsonTokenMask mask(*tokenizer);
  const int32_t padded_vocab = tokenizer->vocab_size() + 7;  // a model's rows past the tokenizer's
  const std::string object =
      " {\"key\": [1, -2.5e+3, true, null, \"caf\xC3\xA9 \\n \\u00e9\"], \"nested\": {\"x\": {}}, \"n\": 0}";
  JsonPrefix state;
  int64_t total_allowed = 0;
  for (size_t i = 0; i <= object.size(); ++i) {
    std::vector<uint8_t> allowed(padded_vocab, 0);
    const int64_t count = mask.Allow(state, allowed);
    int64_t expected_count = 0;
    for (int32_t id = 0; id < padded_vocab; ++id) {
      bool expected = false;
      if (id < tokenizer->vocab_size() && !tokenizer->IsSpecial(id)) {
        const std::string bytes = tokenizer->TokenBytes(id);
        JsonPrefix copy = state;
        expected = !bytes.empty() && copy.Feed(bytes);
      }
      expected_count += expected ? 1 : 0;
      ASSERT_EQ(allowed[id] != 0, expected) << "after " << i << " bytes, token " << id << " '"
                                            << tokenizer->TokenBytes(id) << "'";
    }
    EXPECT_EQ(count, expected_count);
    total_allowed += count;
    if (i < object.size()) {
      ASSERT_TRUE(state.Feed(static_cast<uint8_t>(object[i])));
    }
  }
  EXPECT_GT(total_allowed, 0);
  // Once the object is whole no token fits: the caller allows the stop tokens.
  ASSERT_TRUE(state.complete());
  std::vector<uint8_t> allowed(padded_vocab, 0);
  EXPECT_EQ(mask.Allow(state, allowed), 0);
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
