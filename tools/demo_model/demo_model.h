#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace cai::demo {

// Shape of the demo model: a small Llama 3 (GQA, llama3 RoPE scaling) whose tokenizer is trained
// on a built-in English text and whose weights are random. It exercises every code path of the
// engine in milliseconds; its output is meaningless text.
struct DemoModelOptions {
  uint64_t seed = 1;
  int hidden_size = 128;
  int intermediate_size = 352;
  int num_hidden_layers = 4;
  int num_attention_heads = 4;
  int num_key_value_heads = 2;
  int max_position_embeddings = 2048;
  int num_merges = 1000;  // tokenizer merges (fewer when the corpus runs out of repeated pairs)
};

// Writes a Hugging Face model directory into `dir` (created if needed): config.json,
// generation_config.json, tokenizer.json, tokenizer_config.json, model.safetensors (BF16) and a
// README.md. The same options give byte-identical files.
absl::Status WriteDemoModel(const std::string& dir, const DemoModelOptions& options);

}  // namespace cai::demo
