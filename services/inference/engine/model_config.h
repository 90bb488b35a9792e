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

// The parts of a Hugging Face `config.json` that a Llama-architecture model needs.
struct LlamaConfig {
  std::string architecture;  // e.g. "LlamaForCausalLM"
  std::string model_type;    // "llama" | "mistral"
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

// Parses and validates `config.json`. Unsupported architectures, rope types and out-of-range
// values are InvalidArgument errors that name the key.
absl::StatusOr<LlamaConfig> ParseLlamaConfig(std::string_view json_text);
absl::StatusOr<GenerationConfig> ParseGenerationConfig(std::string_view json_text);

// RoPE inverse frequencies for one head (head_dim / 2 values), with llama3 scaling if configured.
std::vector<double> RopeInverseFrequencies(const LlamaConfig& config);

}  // namespace cai::inference
