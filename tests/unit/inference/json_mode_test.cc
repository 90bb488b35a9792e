// JSON mode in the choice stream: the mask over real logits, the stop tokens, logprobs.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/inference/engine/choice_stream.h"
#include "services/inference/engine/json_token_mask.h"
#include "tests/unit/inference/golden_llama3_mask.h"
#include "tests/unit/inference/json_schema_oracle.h"

namespace cai::inference {
namespace {

class JsonModeTest : public testing::GoldenLlama3Mask {
 protected:

  // Required properties of each kind a boosted '"' or '}' does not end at once: an enum, a bounded
  // list of integers, a nullable nested object.
  static constexpr const char* kSchema = R"({"type": "object", "properties": {
      "mood": {"enum": ["calm", "cross"]}, "tags": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
      "home": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"city": {"type": "string"}}}]}},
      "required": ["mood", "tags", "home"], "additionalProperties": false})";

  static GenerationRequest SchemaRequest(uint64_t seed) {
    GenerationRequest r = Request(OutputFormat::kJsonSchema, seed);
    auto schema = JsonSchema::Parse(kSchema);
    EXPECT_TRUE(schema.ok()) << schema.status();
    r.schema = *schema;
    return r;
  }

  static GenerationRequest Request(OutputFormat format, uint64_t seed) {
    GenerationRequest r = BaseRequest(seed);
    r.format = format;
    return r;
  }

  struct Output {
    std::string text;
    std::vector<SampledToken> tokens;
    std::optional<FinishReason> finish;
    int64_t generated = 0;
  };

  // Runs a choice on random logits (a standard normal per token, seeded), plus boost(id), until
  // it ends or `budget` tokens.
  static Output Run(const GenerationRequest& request, int64_t budget, uint32_t logits_seed,
                    const std::function<float(int32_t)>& boost = nullptr) {
    ChoiceStream stream(0, request, budget, tokenizer_, mask_);
    Output out;
    RunOnRandomLogits(
        stream, logits_seed, [&](float noise, int32_t id, int64_t) { return noise + (boost ? boost(id) : 0.0f); },
        [&](const OwnedDelta& delta) {
          out.text += delta.text;
          out.tokens.insert(out.tokens.end(), delta.tokens.begin(), delta.tokens.end());
          if (delta.finish) out.finish = delta.finish;
        });
    out.generated = stream.generated();
    return out;
  }

  static bool IsJsonPrefix(const std::string& text) {
    JsonPrefix json;
    return json.Feed(text);
  }
  static bool IsJsonObject(const std::string& text) {
    JsonPrefix json;
    return json.Feed(text) && json.complete() && nlohmann::json::accept(text) && nlohmann::json::parse(text).is_object();
  }

};

// On logits that favour nothing in particular, text mode writes text that is not JSON; JSON mode's
// text is a prefix of an object after every draw, and when it stops it is a whole one.
TEST_F(JsonModeTest, EveryDrawKeepsTheTextAPrefixOfAnObject) {
  int not_json = 0;
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    const Output text = Run(Request(OutputFormat::kText, seed), 40, seed);
    not_json += IsJsonPrefix(text.text) ? 0 : 1;
    const Output json = Run(Request(OutputFormat::kJsonObject, seed), 200, seed);
    EXPECT_TRUE(IsJsonPrefix(json.text)) << "seed " << seed << ": " << json.text;
    ASSERT_TRUE(json.finish.has_value());
    if (*json.finish == FinishReason::kStop) {
      EXPECT_TRUE(IsJsonObject(json.text)) << json.text;
    } else {
      EXPECT_EQ(json.generated, 200);
    }
  }
  // Random logits rarely close every bracket in 200 tokens; the next test makes objects end.
  EXPECT_EQ(not_json, 12) << "the unmasked runs should show what the mask prevents";
}

// The stop token, however likely, waits until the object is whole, and then is the only choice.
TEST_F(JsonModeTest, TheStopTokenComesOnlyOnceTheObjectIsWhole) {
  // The stop token far above everything; closing quotes and braces next, so objects end soon.
  auto boost = [](int32_t id) {
    if (id == kStopToken) return 60.0f;
    const std::string bytes = tokenizer_->TokenBytes(id);
    return bytes.find('}') != std::string::npos || bytes.find('"') != std::string::npos ? 30.0f : 0.0f;
  };
  const Output text = Run(Request(OutputFormat::kText, 7), 50, 7, boost);
  EXPECT_EQ(text.generated, 1) << "unmasked, the boosted stop token comes first";
  EXPECT_EQ(text.text, "");
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    const Output json = Run(Request(OutputFormat::kJsonObject, seed), 200, seed, boost);
    ASSERT_EQ(json.finish, FinishReason::kStop) << json.text;
    EXPECT_TRUE(IsJsonObject(json.text)) << json.text;
  }
}

// Logprobs describe the masked distribution: the token drawn and every alternative with any
// probability are tokens that fit.
TEST_F(JsonModeTest, LogprobsListOnlyTokensThatFit) {
  GenerationRequest request = Request(OutputFormat::kJsonObject, 3);
  request.logprobs = true;
  request.top_logprobs = 5;
  const Output out = Run(request, 60, 3);
  ASSERT_GT(out.tokens.size(), 2u);
  EXPECT_EQ(out.tokens.size() + (out.finish == FinishReason::kStop ? 1 : 0), static_cast<size_t>(out.generated))
      << "every drawn token but the stop token has its logprob";
  JsonPrefix state;
  for (const SampledToken& token : out.tokens) {
    EXPECT_GT(token.logprob, kMinLogprob);
    ASSERT_FALSE(token.top.empty());
    EXPECT_LE(token.top.size(), 5u);
    EXPECT_GE(token.top[0].logprob, token.logprob);
    for (const Candidate& c : token.top) {
      JsonPrefix copy = state;
      EXPECT_TRUE(copy.Feed(tokenizer_->TokenBytes(c.id))) << "a ruled-out alternative: " << c.id;
    }
    ASSERT_TRUE(state.Feed(tokenizer_->TokenBytes(token.id)));
  }
}

// A stop id may be an ordinary token (not marked special) whose bytes fit inside a string; it
// still waits for the whole object, however likely.
TEST_F(JsonModeTest, AnOrdinaryStopTokenWaitsForTheWholeObjectToo) {
  const int32_t a = *tokenizer_->TokenId("a");
  ASSERT_FALSE(tokenizer_->IsSpecial(a));
  auto boost = [a](int32_t id) {
    if (id == a) return 60.0f;
    const std::string bytes = tokenizer_->TokenBytes(id);
    return bytes.find('}') != std::string::npos || bytes.find('"') != std::string::npos ? 30.0f : 0.0f;
  };
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    GenerationRequest request = Request(OutputFormat::kJsonObject, seed);
    request.stop_token_ids = {a};
    const Output json = Run(request, 200, seed, boost);
    ASSERT_EQ(json.finish, FinishReason::kStop) << json.text;
    EXPECT_TRUE(IsJsonObject(json.text)) << json.text;
  }
}

// A vocabulary without '"' or '}' cannot finish an object: once the whitespace limit is reached
// nothing fits, and the choice ends on its stop token, reported as cut short ("length").
TEST(JsonModeDeadEndTest, AChoiceThatCannotContinueEndsAsLength) {
  // SentencePiece-style without byte fallback, so bytes can be missing: "{", "▁" (a space), "x".
  const nlohmann::json spec = {
      {"version", "1.0"},
      {"added_tokens", {{{"id", 3}, {"content", "<eos>"}, {"special", true}, {"single_word", false},
                         {"lstrip", false}, {"rstrip", false}, {"normalized", false}}}},
      {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}},
      {"pre_tokenizer", nullptr},
      {"decoder", {{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}}},
      {"model", {{"type", "BPE"}, {"byte_fallback", false}, {"vocab", {{"{", 0}, {"\u2581", 1}, {"x", 2}}},
                 {"merges", nlohmann::json::array()}}}};
  auto tokenizer = Tokenizer::FromJson(spec.dump());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  ASSERT_EQ((*tokenizer)->TokenBytes(1), " ");
  const JsonTokenMask mask(**tokenizer);
  GenerationRequest request;
  request.prompt = {0};
  request.sampling.temperature = 0.0f;
  request.stop_token_ids = {3};
  request.format = OutputFormat::kJsonObject;
  ChoiceStream stream(0, request, 500, tokenizer->get(), &mask);
  const std::vector<float> logits = {9.0f, 5.0f, 1.0f, 0.0f};  // "{", then " ", then "x", then <eos>
  std::string text;
  std::optional<FinishReason> finish;
  while (!stream.done()) {
    std::optional<OwnedDelta> delta;
    stream.Next(logits, delta);
    if (delta) {
      text += delta->text;
      finish = delta->finish;
    }
  }
  EXPECT_EQ(text, "{" + std::string(JsonPrefix::kMaxWhitespaceRun, ' '));
  EXPECT_EQ(finish, FinishReason::kLength);
  EXPECT_EQ(stream.generated(), 2 + JsonPrefix::kMaxWhitespaceRun);
}

TEST_F(JsonModeTest, JsonChoicesAreDrawnOnTheHost) {
  GenerationRequest text = Request(OutputFormat::kText, 1), json = Request(OutputFormat::kJsonObject, 1);
  EXPECT_TRUE(ChoiceStream(0, text, 10, tokenizer_, mask_).DeviceDrawable());
  EXPECT_FALSE(ChoiceStream(0, json, 10, tokenizer_, mask_).DeviceDrawable()) << "the mask needs the logits here";
  GenerationRequest schema = SchemaRequest(1);
  EXPECT_FALSE(ChoiceStream(0, schema, 10, tokenizer_, mask_).DeviceDrawable());
}

// Structured outputs: on logits that favour the stop token, closing quotes and braces, every choice
// ends with the stop token on a text that satisfies the schema, and after every draw the text is a
// prefix the schema admits.
TEST_F(JsonModeTest, SchemaChoicesEndOnTextsTheSchemaAdmits) {
  auto boost = [](int32_t id) {
    if (id == kStopToken) return 60.0f;
    const std::string bytes = tokenizer_->TokenBytes(id);
    return bytes.find('}') != std::string::npos || bytes.find('"') != std::string::npos ? 30.0f : 0.0f;
  };
  const nlohmann::json root = nlohmann::json::parse(kSchema);
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    const GenerationRequest request = SchemaRequest(seed);
    const Output out = Run(request, 300, seed, boost);
    ASSERT_EQ(out.finish, FinishReason::kStop) << out.text;
    ASSERT_TRUE(nlohmann::json::accept(out.text)) << out.text;
    const nlohmann::json value = nlohmann::json::parse(out.text);
    EXPECT_TRUE(testing::Satisfies(value, root, root)) << out.text;
    EXPECT_TRUE(value.contains("mood") && value.contains("tags")) << "required: " << out.text;
  }
}

}  // namespace
}  // namespace cai::inference
