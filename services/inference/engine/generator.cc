#include "services/inference/engine/generator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/backends/cpu/cpu_backend.h"
#include "services/inference/engine/scheduler.h"

namespace cai::inference {

absl::Status ValidateGenerationRequest(const GenerationRequest& request, int64_t context, int32_t vocab_size) {
  if (request.prompt.empty()) return absl::InvalidArgumentError("the prompt has no tokens");
  int64_t prompt = static_cast<int64_t>(request.prompt.size());
  if (prompt >= context) {  // OutOfRange: the API's context_length_exceeded
    return absl::OutOfRangeError(absl::StrCat("the prompt has ", prompt, " tokens; the model's context is ",
                                                   context, " tokens, which leaves no room to generate"));
  }
  if (request.max_tokens < 0) return absl::InvalidArgumentError("max_tokens is negative");
  if (request.n < 1 || request.n > kMaxChoices) {
    return absl::InvalidArgumentError(absl::StrCat("n must be between 1 and ", kMaxChoices));
  }
  if (request.top_logprobs < 0 || request.top_logprobs > kMaxTopLogprobs) {
    return absl::InvalidArgumentError(absl::StrCat("top_logprobs must be between 0 and ", kMaxTopLogprobs));
  }
  if (request.top_logprobs > 0 && !request.logprobs) {
    return absl::InvalidArgumentError("top_logprobs needs logprobs");
  }
  if (request.stop.size() > kMaxStopStrings) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxStopStrings, " stop strings are allowed"));
  }
  for (const std::string& stop : request.stop) {
    if (stop.empty() || stop.size() > kMaxStopStringBytes) {
      return absl::InvalidArgumentError(absl::StrCat("stop strings must have 1 to ", kMaxStopStringBytes, " bytes"));
    }
    // Held-back text is cut where a stop string starts: that must be a character boundary.
    if ((static_cast<uint8_t>(stop[0]) & 0xc0) == 0x80) {
      return absl::InvalidArgumentError("a stop string starts in the middle of a UTF-8 character");
    }
  }
  // JSON mode ends a choice with a stop token once the object is whole: without one it could not.
  if (request.format != OutputFormat::kText && request.stop_token_ids.empty()) {
    return absl::InvalidArgumentError("JSON mode needs a stop token, and the model has none");
  }
  if ((request.format == OutputFormat::kJsonSchema) != (request.schema != nullptr)) {
    return absl::InvalidArgumentError("a JSON schema goes with response_format json_schema, and only with it");
  }
  if (request.tool_choice != ToolChoice::kNone) {
    if (request.tools == nullptr || request.tools->size() == 0) {
      return absl::InvalidArgumentError("a tool_choice other than none needs tools");
    }
    if (request.stop_token_ids.empty()) return absl::InvalidArgumentError("tool calls need a stop token, and the model has none");
    if (request.tool_choice == ToolChoice::kNamed && request.named_tool >= request.tools->size()) {
      return absl::InvalidArgumentError("the named tool is not one of the tools");
    }
  }
  for (int32_t id : request.prompt) {
    if (id < 0 || id >= vocab_size) return absl::InvalidArgumentError(absl::StrCat("prompt token ", id, " is unknown"));
  }
  return ValidateSamplingParams(request.sampling, vocab_size);
}

int64_t GenerationBudget(const GenerationRequest& request, int64_t context) {
  const int64_t budget = context - static_cast<int64_t>(request.prompt.size());
  return request.max_tokens > 0 ? std::min(budget, request.max_tokens) : budget;
}

absl::StatusOr<GenerationResult> Generate(const TransformerModel& model, const Tokenizer& tokenizer,
                                          const GenerationRequest& request, const DeltaCallback& on_delta,
                                          const CancelCheck& cancelled) {
  const int64_t context = model.config().max_position_embeddings;
  absl::Status valid = ValidateGenerationRequest(request, context, static_cast<int32_t>(model.config().vocab_size));
  if (!valid.ok()) return valid;
  // Room for every choice's whole sequence, so nothing is ever preempted.
  const int64_t positions = static_cast<int64_t>(request.prompt.size()) + GenerationBudget(request, context);
  CpuBackend backend(model, request.n * KvBlocksFor(positions) * model.kv_block_bytes());
  SchedulerOptions options;
  options.max_running = request.n;
  Scheduler scheduler(backend, &tokenizer, options);
  absl::StatusOr<uint64_t> id = scheduler.Add(request);
  if (!id.ok()) return id.status();
  while (true) {
    if (cancelled()) return absl::CancelledError("generation cancelled");
    scheduler.Step();
    for (const OwnedDelta& delta : scheduler.TakeDeltas(*id)) {
      if (!on_delta(delta.View())) return absl::CancelledError("generation cancelled");
    }
    if (std::optional<absl::StatusOr<GenerationResult>> result = scheduler.TakeResult(*id)) return *std::move(result);
  }
}

}  // namespace cai::inference
