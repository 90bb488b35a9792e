// Fuzzes config.json, generation_config.json and tokenizer_config.json parsing: a model directory
// is outside input.
// Oracle beyond "no crash": an accepted config satisfies the invariants the engine relies on.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "services/inference/engine/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = cai::inference::ParseModelConfig(text);
  if (config.ok()) {
    if (config->hidden_size <= 0 || config->num_hidden_layers <= 0 || config->vocab_size <= 0) std::abort();
    if (config->num_key_value_heads <= 0 || config->num_attention_heads % config->num_key_value_heads != 0) {
      std::abort();
    }
  }
  (void)cai::inference::ParseGenerationConfig(text);
  if (auto tokens = cai::inference::ParseTokenizerConfig(text); tokens.ok()) {
    if ((tokens->bos_token && tokens->bos_token->empty()) || (tokens->eos_token && tokens->eos_token->empty())) {
      std::abort();  // "" means no token
    }
  }
  return 0;
}
