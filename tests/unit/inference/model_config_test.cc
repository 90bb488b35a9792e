#include "services/inference/engine/model_config.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cai::inference {
namespace {

// config.json of Llama-3.1-8B-Instruct (the keys that matter).
constexpr char kLlama31[] = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
  "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
  "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": false,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "attention_bias": false, "mlp_bias": false, "torch_dtype": "bfloat16"})";

TEST(ModelConfig, ParsesLlama31) {
  absl::StatusOr<LlamaConfig> c = ParseLlamaConfig(kLlama31);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "LlamaForCausalLM");
  EXPECT_EQ(c->hidden_size, 4096);
  EXPECT_EQ(c->num_key_value_heads, 8);
  EXPECT_EQ(c->head_dim, 128);  // defaulted: hidden / heads
  EXPECT_DOUBLE_EQ(c->rope_theta, 500000.0);
  ASSERT_TRUE(c->rope_scaling.has_value());
  EXPECT_EQ(c->rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_EQ(c->bos_token_id, 128000);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int32_t>{128001, 128008, 128009}));
}

TEST(ModelConfig, DefaultsKvHeadsAndAcceptsSingleEos) {
  absl::StatusOr<LlamaConfig> c = ParseLlamaConfig(
      R"({"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,
          "num_attention_heads":4,"vocab_size":100,"max_position_embeddings":256,"eos_token_id":2})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_key_value_heads, 4);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->eos_token_ids, std::vector<int32_t>{2});
  EXPECT_FALSE(c->rope_scaling.has_value());
}

std::string Mutate(std::string key, std::string value) {
  nlohmann::json j = nlohmann::json::parse(kLlama31);
  if (value.empty()) {
    j.erase(key);
  } else {
    j[key] = nlohmann::json::parse(value);
  }
  return j.dump();
}

TEST(ModelConfig, RejectsBadValuesNamingTheKey) {
  struct Case {
    std::string json;
    const char* message_part;
  };
  std::vector<Case> cases = {
      {"not json", "invalid JSON"},
      {"[]", "not a JSON object"},
      {Mutate("architectures", R"(["GPT2LMHeadModel"])"), "GPT2LMHeadModel"},
      {Mutate("hidden_size", ""), "'hidden_size' is missing"},
      {Mutate("hidden_size", "0"), "'hidden_size'"},
      {Mutate("hidden_size", "\"4096\""), "'hidden_size' must be an integer"},
      {Mutate("num_hidden_layers", "100000"), "'num_hidden_layers'"},
      {Mutate("num_key_value_heads", "5"), "multiple of num_key_value_heads"},
      {Mutate("vocab_size", "-1"), "'vocab_size'"},
      {Mutate("rms_norm_eps", "0"), "'rms_norm_eps'"},
      {Mutate("rope_theta", "-5"), "'rope_theta'"},
      {Mutate("rope_scaling", R"({"rope_type":"yarn","factor":4})"), "yarn"},
      {Mutate("rope_scaling", R"({"rope_type":"llama3","factor":8,"low_freq_factor":4,"high_freq_factor":1,
                                  "original_max_position_embeddings":8192})"), "high_freq_factor"},
      {Mutate("rope_scaling", R"({"rope_type":"llama3","factor":8})"), "original_max_position_embeddings"},
      {Mutate("head_dim", "7"), "'head_dim' must be even"},
      {Mutate("eos_token_id", "[1, -3]"), "'eos_token_id'"},
      {Mutate("eos_token_id", "999999"), "vocab_size"},
      {Mutate("hidden_act", "\"gelu\""), "'hidden_act'"},
      {Mutate("attention_bias", "true"), "'attention_bias'"},
      {Mutate("sliding_window", "4096"), "'sliding_window'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<LlamaConfig> parsed = ParseLlamaConfig(c.json);
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status()));
    EXPECT_NE(parsed.status().message().find(c.message_part), std::string::npos)
        << c.message_part << " not in: " << parsed.status();
  }
}

TEST(ModelConfig, GenerationConfig) {
  absl::StatusOr<GenerationConfig> g = ParseGenerationConfig(
      R"({"bos_token_id":128000,"do_sample":true,"eos_token_id":[128001,128008,128009],"temperature":0.6,"top_p":0.9})");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->eos_token_ids.size(), 3u);
  EXPECT_FLOAT_EQ(*g->temperature, 0.6f);
  EXPECT_FLOAT_EQ(*g->top_p, 0.9f);
  EXPECT_FALSE(ParseGenerationConfig(R"({"top_p": 1.5})").ok());
  EXPECT_FALSE(ParseGenerationConfig(R"({"eos_token_id": "x"})").ok());
  absl::StatusOr<GenerationConfig> empty = ParseGenerationConfig("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->temperature.has_value());
}

// The llama3 frequency table of Llama 3.1 8B, recomputed here from the published rule.
TEST(ModelConfig, Llama3RopeFrequencies) {
  absl::StatusOr<LlamaConfig> c = ParseLlamaConfig(kLlama31);
  ASSERT_TRUE(c.ok());
  std::vector<double> f = RopeInverseFrequencies(*c);
  ASSERT_EQ(f.size(), 64u);
  int high = 0, low = 0, mid = 0;
  for (int i = 0; i < 64; ++i) {
    double base = 1.0 / std::pow(500000.0, (2.0 * i) / 128.0);
    double wavelen = 2 * std::numbers::pi / base;
    double expected;
    if (wavelen < 8192.0 / 4.0) {
      expected = base;
      ++high;
    } else if (wavelen > 8192.0) {
      expected = base / 8.0;
      ++low;
    } else {
      double s = (8192.0 / wavelen - 1.0) / 3.0;
      expected = (1 - s) * base / 8.0 + s * base;
      ++mid;
    }
    EXPECT_NEAR(f[i], expected, 1e-12 * expected) << i;
  }
  // All three regimes occur in this table.
  EXPECT_GT(high, 0);
  EXPECT_GT(low, 0);
  EXPECT_GT(mid, 0);
  EXPECT_DOUBLE_EQ(f[0], 1.0);  // wavelength 2*pi: unchanged
  EXPECT_NEAR(f[63], std::pow(500000.0, -126.0 / 128.0) / 8.0, 1e-18);
}

}  // namespace
}  // namespace cai::inference
