#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/inference/engine/backends/cpu/transformer_model.h"
#include "services/inference/engine/json_schema.h"
#include "services/inference/engine/sampler.h"
#include "services/inference/engine/tokenizer/tokenizer.h"
#include "services/inference/engine/tool_set.h"

namespace cai::inference {

inline constexpr size_t kMaxStopStrings = 16;
inline constexpr size_t kMaxStopStringBytes = 256;
inline constexpr int kMaxChoices = 8;

// What the generated text must be. kJsonObject is OpenAI's JSON mode: every token is drawn among
// those that keep the text a prefix of one JSON object (JsonPrefix), and the stop tokens only once
// it is whole; logprobs then describe that narrowed distribution. kJsonSchema is the same with the
// prefixes of a text the request's schema admits (JsonSchemaPrefix; structured outputs). A choice
// cut short by max_tokens or a stop string is still a prefix, not a whole text.
enum class OutputFormat { kText, kJsonObject, kJsonSchema };

struct GenerationRequest {
  std::vector<int32_t> prompt;          // token ids, BOS included if the model wants one
  SamplingParams sampling;              // choice i samples with seed + i
  int64_t max_tokens = 0;               // per choice; 0: up to the context length
  std::vector<std::string> stop;        // stop strings, excluded from the output
  std::vector<int32_t> stop_token_ids;  // e.g. EOS; counted as generated, never printed
  int n = 1;                            // independent choices, 1..kMaxChoices
  bool logprobs = false;                // report each printed token's log-probability
  int top_logprobs = 0;                 // 0..kMaxTopLogprobs alternatives per token; needs logprobs
  // Score the prompt (completions' echo with logprobs): each prompt token after the first gets its
  // log-probability given the tokens before it, under the model's own distribution (no bias,
  // penalties or format), with top_logprobs alternatives. Delivered in order, in deltas of choice 0
  // (prompt_tokens), before that choice's first generated token. With logprobs, a stop token
  // generated is then listed in `tokens` as well (it prints nothing).
  bool prompt_logprobs = false;
  OutputFormat format = OutputFormat::kText;
  std::shared_ptr<const JsonSchema> schema;  // kJsonSchema: what the text must be, shared by the choices
  // Chat with tools: the calls a choice may make, and whether and how it makes one. A call is drawn
  // to be one ToolCallPrefix admits, and is delivered as a name and arguments rather than text; a
  // choice makes at most one. With tool_choice auto and a JSON format, a reply is a call or the
  // JSON answer (CallOrJsonPrefix); with required or a named tool, the format is moot.
  std::shared_ptr<const ToolSet> tools;
  ToolChoice tool_choice = ToolChoice::kNone;
  size_t named_tool = 0;  // kNamed: the tool, an index into `tools`
};

// kToolCalls: a whole tool call, then a stop token.
enum class FinishReason { kStop, kLength, kToolCalls };

// What one choice produced since its previous delta.
struct ChoiceDelta {
  int index = 0;
  std::string_view text;                  // whole UTF-8 characters, never any part of a stop string
  std::string_view tool_name;             // the choice's tool call: its name, once, when whole
  std::string_view tool_arguments;        // the next piece of the call's arguments (JSON text)
  std::span<const SampledToken> tokens;   // with logprobs: tokens sampled since the last delta (stop tokens never)
  std::span<const SampledToken> prompt_tokens;  // prompt_logprobs: the next prompt tokens scored (choice 0)
  std::optional<FinishReason> finish;     // set on the choice's last delta
};

struct GenerationResult {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;             // summed over the choices
  std::vector<FinishReason> finish_reasons;  // by choice
};

// Receives the deltas of all choices, interleaved, in the order they are produced. A delta has
// text, a part of a tool call, prompt scores or a finish reason (never none of them); a choice that makes a tool
// call has no text. Returning false stops the generation (the reader is
// gone): Generate returns Cancelled.
using DeltaCallback = std::function<bool(const ChoiceDelta& delta)>;
// Polled before every decoding step; true stops the generation with Cancelled.
using CancelCheck = std::function<bool()>;

// InvalidArgument naming what is wrong with `request` for a model of this context and vocabulary.
absl::Status ValidateGenerationRequest(const GenerationRequest& request, int64_t context, int32_t vocab_size);
// Tokens each choice may generate: max_tokens, bounded by what the context leaves.
int64_t GenerationBudget(const GenerationRequest& request, int64_t context);

// Runs the request alone on a Scheduler sized for it, in the caller's thread: the n choices are
// n sequences decoded in one batch (each prefills the prompt itself), one token per choice per
// step, until each hits a stop token, a stop string, max_tokens or the end of the context. Special tokens are not
// printed (as vLLM). The text of a possible stop string is held back across token boundaries
// until it is known not to be one. A choice's deltas concatenate to the same text whether they
// are streamed or collected, so the stream equals the non-stream answer for the same seed.
absl::StatusOr<GenerationResult> Generate(const TransformerModel& model, const Tokenizer& tokenizer,
                                          const GenerationRequest& request, const DeltaCallback& on_delta,
                                          const CancelCheck& cancelled);

}  // namespace cai::inference
