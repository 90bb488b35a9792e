#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/llama_model.h"
#include "services/inference/engine/sampler.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

inline constexpr size_t kMaxStopStrings = 16;
inline constexpr size_t kMaxStopStringBytes = 256;

struct GenerationRequest {
  std::vector<int32_t> prompt;          // token ids, BOS included if the model wants one
  SamplingParams sampling;
  int64_t max_tokens = 0;               // 0: up to the context length
  std::vector<std::string> stop;        // stop strings, excluded from the output
  std::vector<int32_t> stop_token_ids;  // e.g. EOS; counted as generated, never printed
};

enum class FinishReason { kStop, kLength };

struct GenerationResult {
  FinishReason finish_reason = FinishReason::kLength;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// Receives each new piece of text: whole UTF-8 characters, never any part of a stop string.
// Returning false stops the generation (the reader is gone): Generate returns Cancelled.
using TextCallback = std::function<bool(std::string_view text)>;
// Polled before every forward pass; true stops the generation with Cancelled.
using CancelCheck = std::function<bool()>;

// Prefills the prompt, then samples and decodes one token at a time until a stop token, a stop
// string, max_tokens or the end of the context. Special tokens are not printed (as vLLM). The text of a
// possible stop string is held back across token boundaries until it is known not to be one.
absl::StatusOr<GenerationResult> Generate(const LlamaModel& model, const Tokenizer& tokenizer,
                                          const GenerationRequest& request, const TextCallback& on_text,
                                          const CancelCheck& cancelled);

}  // namespace cai::inference
