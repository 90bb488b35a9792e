#include "services/inference/engine/model_config.h"

#include <cmath>
#include <fstream>
#include <sstream>
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
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kLlama31);
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
  absl::StatusOr<ModelConfig> c = ParseModelConfig(
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
      {Mutate("bos_token_id", "999999"), "bos_token_id 999999 is not below vocab_size 128256"},
      {Mutate("hidden_act", "\"gelu\""), "'hidden_act'"},
      {Mutate("attention_bias", "true"), "'attention_bias'"},
      {Mutate("sliding_window", "4096"), "'sliding_window'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ModelConfig> parsed = ParseModelConfig(c.json);
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
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kLlama31);
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

// config.json of gemma-2-9b-it (the keys that matter; no layer_types in older transformers).
constexpr char kGemma2[] = R"({
  "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "attn_logit_softcapping": 50.0,
  "bos_token_id": 2, "eos_token_id": [1, 107], "final_logit_softcapping": 30.0, "head_dim": 256,
  "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 3584, "intermediate_size": 14336,
  "max_position_embeddings": 8192, "num_attention_heads": 16, "num_hidden_layers": 42,
  "num_key_value_heads": 8, "pad_token_id": 0, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
  "rope_theta": 10000.0, "sliding_window": 4096, "torch_dtype": "bfloat16", "vocab_size": 256000})";

// config.json of Phi-3-mini-4k-instruct (the keys that matter).
constexpr char kPhi3[] = R"({
  "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "bos_token_id": 1, "eos_token_id": 32000,
  "hidden_act": "silu", "hidden_size": 3072, "intermediate_size": 8192, "max_position_embeddings": 4096,
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
  "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "rope_scaling": null,
  "rope_theta": 10000.0, "sliding_window": 2047, "tie_word_embeddings": false, "vocab_size": 32064})";

std::string MutateJson(const char* base, std::string key, std::string value) {
  nlohmann::json j = nlohmann::json::parse(base);
  if (value.empty()) {
    j.erase(key);
  } else {
    j[key] = nlohmann::json::parse(value);
  }
  return j.dump();
}

TEST(ModelConfig, ParsesGemma2) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kGemma2);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, ModelFamily::kGemma2);
  EXPECT_EQ(c->head_dim, 256);  // q width 4096 != hidden 3584
  EXPECT_DOUBLE_EQ(c->query_pre_attn_scalar, 256);
  EXPECT_DOUBLE_EQ(c->attn_logit_softcapping, 50);
  EXPECT_DOUBLE_EQ(c->final_logit_softcapping, 30);
  EXPECT_EQ(c->activation, Activation::kGeluTanh);
  EXPECT_TRUE(c->tie_word_embeddings);  // Gemma2Config's default
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-6);
  ASSERT_EQ(c->sliding_window, 4096);
  ASSERT_EQ(c->sliding_layers.size(), 42u);
  for (int i = 0; i < 42; ++i) EXPECT_EQ(c->sliding_layers[i], i % 2 == 0) << i;
  EXPECT_EQ(c->eos_token_ids, (std::vector<int32_t>{1, 107}));
}

TEST(ModelConfig, Gemma2LayerTypesAndNullCaps) {
  std::string json = MutateJson(kGemma2, "num_hidden_layers", "3");
  json = MutateJson(json.c_str(), "layer_types", R"(["full_attention","sliding_attention","sliding_attention"])");
  json = MutateJson(json.c_str(), "final_logit_softcapping", "null");
  json = MutateJson(json.c_str(), "query_pre_attn_scalar", "224");
  absl::StatusOr<ModelConfig> c = ParseModelConfig(json);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sliding_layers, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(c->final_logit_softcapping, 0);
  EXPECT_DOUBLE_EQ(c->query_pre_attn_scalar, 224);
}

TEST(ModelConfig, ParsesPhi3) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(kPhi3);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->family, ModelFamily::kPhi3);
  EXPECT_EQ(c->head_dim, 96);
  EXPECT_EQ(c->num_key_value_heads, 32);
  EXPECT_DOUBLE_EQ(c->query_pre_attn_scalar, 96);
  EXPECT_EQ(c->attn_logit_softcapping, 0);
  EXPECT_EQ(c->activation, Activation::kSilu);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_FALSE(c->rope_scaling.has_value());
  ASSERT_EQ(c->sliding_window, 2047);
  EXPECT_EQ(c->sliding_layers, std::vector<bool>(32, true));
}

TEST(ModelConfig, GoldenFixturesParse) {
  for (const char* name : {"llama3", "gemma2", "phi3"}) {
    std::ifstream in(std::string(CAI_GOLDEN_DIR) + "/models/" + name + "/config.json");
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<ModelConfig> c = ParseModelConfig(text.str());
    ASSERT_TRUE(c.ok()) << name << ": " << c.status();
  }
}

TEST(TokenizerConfig, ReadsTheSpecialTokensInBothShapes) {
  absl::StatusOr<TokenizerConfig> t = ParseTokenizerConfig(
      R"({"bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false}, "pad_token": 3})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->bos_token, "<s>");
  EXPECT_EQ(t->eos_token, "</s>");
  for (const char* none : {R"({})", R"({"bos_token": null, "eos_token": ""})", R"({"eos_token": {"content": ""}})"}) {
    absl::StatusOr<TokenizerConfig> empty = ParseTokenizerConfig(none);
    ASSERT_TRUE(empty.ok()) << none << ": " << empty.status();
    EXPECT_FALSE(empty->bos_token.has_value()) << none;
    EXPECT_FALSE(empty->eos_token.has_value()) << none;
  }
  for (const char* name : {"llama3", "gemma2", "phi3"}) {
    std::ifstream in(std::string(CAI_GOLDEN_DIR) + "/models/" + name + "/tokenizer_config.json");
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<TokenizerConfig> golden = ParseTokenizerConfig(text.str());
    ASSERT_TRUE(golden.ok()) << name << ": " << golden.status();
    EXPECT_TRUE(golden->bos_token.has_value() && golden->eos_token.has_value()) << name;
  }
}

TEST(TokenizerConfig, RejectsOtherShapesNamingTheKey) {
  struct Case {
    const char* json;
    const char* why;
  };
  const Case cases[] = {
      {R"([])", "not a JSON object"},
      {R"({"eos_token": )", "invalid JSON"},
      {R"({"eos_token": 2})", "'eos_token' must be a string"},
      {R"({"bos_token": ["<s>"]})", "'bos_token' must be a string"},
      {R"({"eos_token": {"text": "</s>"}})", "'eos_token' is an object without \"content\""},
      {R"({"bos_token": {"content": 1}})", "'bos_token' must be a string"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TokenizerConfig> t = ParseTokenizerConfig(c.json);
    ASSERT_TRUE(absl::IsInvalidArgument(t.status())) << c.json;
    EXPECT_NE(t.status().message().find(c.why), std::string_view::npos) << c.json << ": " << t.status();
  }
}

TEST(ModelConfig, RejectsBadGemma2AndPhi3Values) {
  struct Case {
    std::string json;
    absl::StatusCode code;
    const char* message_part;
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument, kUnimplemented = absl::StatusCode::kUnimplemented;
  std::vector<Case> cases = {
      {MutateJson(kGemma2, "hidden_activation", "\"silu\""), kInvalid, "'hidden_activation'"},
      {MutateJson(kGemma2, "attn_logit_softcapping", "-1"), kInvalid, "'attn_logit_softcapping'"},
      {MutateJson(kGemma2, "query_pre_attn_scalar", "0"), kInvalid, "'query_pre_attn_scalar'"},
      {MutateJson(kGemma2, "sliding_window", "0"), kInvalid, "'sliding_window'"},
      {MutateJson(kGemma2, "layer_types", R"(["sliding_attention"])"), kInvalid, "'layer_types'"},
      {MutateJson(kPhi3, "rope_scaling", R"({"type":"longrope","short_factor":[1],"long_factor":[1]})"),
       kUnimplemented, "longrope"},
      {MutateJson(kPhi3, "partial_rotary_factor", "0.5"), kUnimplemented, "partial_rotary_factor"},
      {MutateJson(kPhi3, "hidden_act", "\"gelu_pytorch_tanh\""), kInvalid, "'hidden_act'"},
      {MutateJson(kPhi3, "attn_logit_softcapping", "50"), kInvalid, "'attn_logit_softcapping'"},
      {MutateJson(kPhi3, "sliding_window", "-3"), kInvalid, "'sliding_window'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ModelConfig> parsed = ParseModelConfig(c.json);
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_EQ(parsed.status().code(), c.code) << parsed.status();
    EXPECT_NE(parsed.status().message().find(c.message_part), std::string::npos)
        << c.message_part << " not in: " << parsed.status();
  }
}

}  // namespace
}  // namespace cai::inference
