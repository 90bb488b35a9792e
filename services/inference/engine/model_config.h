#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace cai::inference {

// Llama 3 RoPE frequency scaling (transformers `_compute_llama3_parameters`).
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

// The decoder families the engine runs. Each differs from Llama only where its fields below say so.
enum class ModelFamily {
  kLlama,   // LlamaForCausalLM, MistralForCausalLM
  kGemma2,  // Gemma2ForCausalLM: (1 + w) sandwich norms, sqrt(hidden) embedding scale, softcaps
  kPhi3,    // Phi3ForCausalLM: fused qkv_proj and gate_up_proj
};

enum class Activation { kSilu, kGeluTanh };

// The parts of a Hugging Face `config.json` that the transformer needs, every default filled in
// as the family's transformers config class fills it.
struct ModelConfig {
  std::string architecture;  // e.g. "LlamaForCausalLM"
  std::string model_type;    // "llama" | "mistral" | "gemma2" | "phi3"
  ModelFamily family = ModelFamily::kLlama;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  std::optional<Llama3RopeScaling> rope_scaling;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  Activation activation = Activation::kSilu;
  // Attention scores are scaled by query_pre_attn_scalar^-0.5 (head_dim unless Gemma 2 says).
  double query_pre_attn_scalar = 0;
  // cap * tanh(x / cap) on attention scores (before the mask) and on the final logits; 0: none.
  double attn_logit_softcapping = 0;
  double final_logit_softcapping = 0;
  // A sliding layer's query at q sees keys k with q - sliding_window < k <= q (HF masking_utils).
  std::optional<int> sliding_window;
  std::vector<bool> sliding_layers;  // num_hidden_layers entries
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
};

// Defaults from `generation_config.json`; every field optional there.
struct GenerationConfig {
  std::vector<int32_t> eos_token_ids;
  std::optional<float> temperature;
  std::optional<float> top_p;
  bool do_sample = true;  // false: greedy by default, whatever the temperature says
};

// The special tokens `tokenizer_config.json` names, as text (mapped to ids against tokenizer.json).
struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
};

// Parses and validates `config.json`. Unknown architectures and out-of-range values are
// InvalidArgument errors that name the key; known but unimplemented features (Phi-3 longrope,
// partial rotary) are Unimplemented.
absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text);
absl::StatusOr<GenerationConfig> ParseGenerationConfig(std::string_view json_text);
// Hugging Face writes each token as a string or as {"content": "...", ...}; null or "" means none.
// Any other shape is InvalidArgument naming the key. Other keys are not read.
absl::StatusOr<TokenizerConfig> ParseTokenizerConfig(std::string_view json_text);

// InvalidArgument "<key> <id> is not below vocab_size <n>" for the first id that is not, the one
// check for token ids named by config.json and generation_config.json.
absl::Status CheckTokenIdsBelowVocab(std::string_view key, const std::vector<int32_t>& ids, int vocab_size);

// RoPE inverse frequencies for one head (head_dim / 2 values), with llama3 scaling if configured.
std::vector<double> RopeInverseFrequencies(const ModelConfig& config);

}  // namespace cai::inference
