#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <span>
#include <string>
#include <vector>

#include "services/inference/engine/call_or_json_prefix.h"
#include "services/inference/engine/forward_backend.h"
#include "services/inference/engine/generator.h"
#include "services/inference/engine/json_prefix.h"
#include "services/inference/engine/json_schema_prefix.h"
#include "services/inference/engine/json_token_mask.h"
#include "services/inference/engine/sampler.h"
#include "services/inference/engine/tokenizer/stream_decoder.h"
#include "services/inference/engine/tool_call_prefix.h"

namespace cai::inference {

// A ChoiceDelta that owns its text and tokens, so it can cross threads.
struct OwnedDelta {
  int index = 0;
  std::string text;
  std::string tool_name;
  std::string tool_arguments;
  std::vector<SampledToken> tokens;
  std::vector<SampledToken> prompt_tokens;
  std::optional<FinishReason> finish;

  ChoiceDelta View() const {
    return {.index = index,
            .text = text,
            .tool_name = tool_name,
            .tool_arguments = tool_arguments,
            .tokens = tokens,
            .prompt_tokens = prompt_tokens,
            .finish = finish};
  }
};

// Text that has been decoded but not yet handed out, because it might begin a stop string.
class StopFilter {
 public:
  explicit StopFilter(const std::vector<std::string>& stops) : stops_(stops) {}

  // Adds `text`; returns what can be released now. Sets stopped() when a stop string appears,
  // in which case the returned text ends right before it and everything after is dropped.
  std::string Push(std::string_view text, bool final);
  bool stopped() const { return stopped_; }

 private:
  // Length of the longest suffix of pending_ that is a proper prefix of some stop string.
  size_t HeldBack() const;

  const std::vector<std::string>& stops_;
  std::string pending_;
  bool stopped_ = false;
};

// What one choice of a request does with each new next-token distribution: sample (seed + index),
// decode to text, hold back possible stop strings, and decide when the choice ends (stop token,
// stop string, or `budget` tokens). With tools, a reply that is a tool call (always, with tool_choice
// required or named; with auto, when its first token begins with '{') is drawn to be one and
// delivered as the call's name and arguments instead of text; stop strings do not apply to it. Knows nothing of KV caches, so a choice preempted and
// recomputed continues exactly where it was. Holds references to `request`, `tokenizer` and
// `json_mask`.
class ChoiceStream {
 public:
  // Null `tokenizer`: no text (benchmarks); deltas then carry only logprobs and the finish.
  // `json_mask` (the tokenizer's) is required for the JSON formats, and so is a tokenizer.
  ChoiceStream(int index, const GenerationRequest& request, int64_t budget, const Tokenizer* tokenizer,
               const JsonTokenMask* json_mask = nullptr);

  // Samples the next token from `logits`; sets `delta` when there is something to deliver.
  int32_t Next(std::span<const float> logits, std::optional<OwnedDelta>& delta);

  // Draws made on a device instead (ForwardBackend::samples_on_device): every choice but those
  // that report logprobs or write JSON or a tool call, which need the whole distribution here (a
  // reply that tool_choice auto let become text goes to the device from its second token on).
  bool DeviceDrawable() const { return !request_.logprobs && !Constrained(); }
  // The next draw: this choice's sampling parameters and seed, the draw's number (the tokens
  // generated so far, so a preempted choice recomputed later draws the same numbers), and the
  // logit adjustments (bias, penalties).
  DeviceDraw NextDraw() const;
  // Next, for a token drawn on the device from the distribution NextDraw described.
  int32_t Accept(int32_t token, std::optional<OwnedDelta>& delta);

  bool done() const { return finish_.has_value(); }
  std::optional<FinishReason> finish() const { return finish_; }
  int64_t generated() const { return generated_; }

 private:
  // What the reply is, or may still be.
  enum class Reply : uint8_t {
    kText,        // free text: no tools or tool_choice none, or auto and the reply began otherwise than '{'
    kJson,        // the JSON answer a response_format asks for
    kToolCall,
    kUndecided,   // tool_choice auto, before the first token: text, or a call if it begins with '{'
    kCallOrJson,  // tool_choice auto with a JSON response_format: a call, or the JSON answer
  };
  static Reply InitialReply(const GenerationRequest& request);

  // Stop tokens, text, stop strings and the budget for the token just chosen.
  int32_t Deliver(SampledToken token, std::optional<OwnedDelta>& delta);
  // Whether the next token is drawn under the mask: JSON, or a tool call that may still come.
  bool Constrained() const { return json_mask_ != nullptr && reply_ != Reply::kText; }
  // kCallOrJson: once the bytes rule out one reading (or, `ending`, once there are no more), the
  // reply is the other (a text that is a whole call counts as the call).
  void SettleCallOrJson(bool ending);
  // Adds decoded text to `delta`: held while the reply may be a call or the answer; text and
  // answers through the stop strings; a call split into its name and arguments (stop strings hold
  // for text only: a call is drawn whole and ends on its own, and cut by one its arguments would
  // not parse).
  void Emit(std::string_view decoded, bool final, OwnedDelta& delta);
  // JSON mode: `logits` with every token that may not come next at -infinity. Stop tokens may
  // come once the object is whole, or should no other token fit (a vocabulary that lacks a byte
  // the object needs): the choice then ends, as "length", rather than draw a token that breaks it.
  std::span<const float> MaskForJson(std::span<const float> logits);
  bool JsonComplete() const;

  const int index_;
  const GenerationRequest& request_;
  const int64_t budget_;
  const Tokenizer* const tokenizer_;
  const JsonTokenMask* const json_mask_;
  // The text so far, in JSON mode: a JsonPrefix, or a JsonSchemaPrefix with a schema; with tools,
  // a ToolCallPrefix, or a CallOrJsonPrefix with a JSON response_format too.
  std::variant<JsonPrefix, JsonSchemaPrefix, ToolCallPrefix, CallOrJsonPrefix> json_;
  Reply reply_;
  std::string held_;  // kCallOrJson: decoded text not yet known to be a call or the answer
  // With tools: the released text of the call read again, to tell its name from its arguments
  // (the text is released later than its tokens are drawn: stop strings and split characters).
  std::optional<ToolCallPrefix> released_call_;
  std::vector<uint8_t> allowed_;  // JSON mode: by token id, may come next
  std::vector<float> masked_;     // JSON mode: the logits after the mask
  Sampler sampler_;
  std::optional<StreamDecoder> decoder_;
  StopFilter filter_;
  std::vector<SampledToken> pending_;  // logprobs not yet delivered
  int64_t generated_ = 0;
  std::optional<FinishReason> finish_;
};

}  // namespace cai::inference
