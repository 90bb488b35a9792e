#include "services/inference/engine/choice_stream.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "services/inference/engine/tokenizer/chat_template.h"

namespace cai::inference {

std::string StopFilter::Push(std::string_view text, bool final) {
  pending_ += text;
  size_t cut = std::string::npos;
  for (const std::string& stop : stops_) cut = std::min(cut, pending_.find(stop));
  if (cut != std::string::npos) {
    stopped_ = true;
    return pending_.substr(0, cut);
  }
  size_t hold = final ? 0 : HeldBack();
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

size_t StopFilter::HeldBack() const {
  for (size_t k = std::min(pending_.size(), kMaxStopStringBytes); k > 0; --k) {
    std::string_view tail = std::string_view(pending_).substr(pending_.size() - k);
    for (const std::string& stop : stops_) {
      if (stop.size() > k && std::string_view(stop).starts_with(tail)) return k;
    }
  }
  return 0;
}

namespace {

SamplingParams ForChoice(SamplingParams params, int index) {
  params.seed += static_cast<uint64_t>(index);
  return params;
}

bool CallsTools(const GenerationRequest& request) {
  return request.tool_choice != ToolChoice::kNone && request.tools != nullptr;
}

std::optional<ToolCallPrefix> CallFor(const GenerationRequest& request) {
  if (!CallsTools(request)) return std::nullopt;
  return ToolCallPrefix(*request.tools, request.tool_choice == ToolChoice::kNamed
                                            ? std::optional<size_t>(request.named_tool)
                                            : std::nullopt);
}

CallOrJsonPrefix::Json JsonAnswerFor(const GenerationRequest& request) {
  if (request.format == OutputFormat::kJsonSchema) return JsonSchemaPrefix(*request.schema);
  return JsonPrefix();
}

std::variant<JsonPrefix, JsonSchemaPrefix, ToolCallPrefix, CallOrJsonPrefix> JsonStateFor(
    const GenerationRequest& request) {
  if (std::optional<ToolCallPrefix> call = CallFor(request)) {
    if (request.tool_choice == ToolChoice::kAuto && request.format != OutputFormat::kText) {
      return CallOrJsonPrefix(*std::move(call), JsonAnswerFor(request));
    }
    return *std::move(call);
  }
  if (request.format == OutputFormat::kJsonSchema) return JsonSchemaPrefix(*request.schema);
  return JsonPrefix();
}

// The byte a tool call begins with, which tells a call from text under tool_choice auto.
constexpr uint8_t kCallFirstByte = kLlama3ToolCallOpen[0];

}  // namespace

ChoiceStream::Reply ChoiceStream::InitialReply(const GenerationRequest& request) {
  if (!CallsTools(request)) return request.format == OutputFormat::kText ? Reply::kText : Reply::kJson;
  if (request.tool_choice != ToolChoice::kAuto) return Reply::kToolCall;
  return request.format == OutputFormat::kText ? Reply::kUndecided : Reply::kCallOrJson;
}

ChoiceStream::ChoiceStream(int index, const GenerationRequest& request, int64_t budget, const Tokenizer* tokenizer,
                           const JsonTokenMask* json_mask)
    : index_(index), request_(request), budget_(budget), tokenizer_(tokenizer),
      json_mask_(json_mask),
      json_(JsonStateFor(request)), reply_(InitialReply(request)), released_call_(CallFor(request)),
      sampler_(ForChoice(request.sampling, index)), filter_(request.stop) {
  if (tokenizer != nullptr) decoder_.emplace(*tokenizer);
}

std::span<const float> ChoiceStream::MaskForJson(std::span<const float> logits) {
  allowed_.assign(logits.size(), 0);
  int64_t fitting =
      JsonComplete() ? 0 : std::visit([&](const auto& json) { return json_mask_->Allow(json, allowed_); }, json_);
  // A stop token ends the choice, so it waits for the whole object even where it is an ordinary
  // token whose bytes would fit (a stop id that is not a special token).
  for (int32_t id : request_.stop_token_ids) {
    if (id >= 0 && static_cast<size_t>(id) < allowed_.size() && allowed_[id] != 0) {
      allowed_[id] = 0;
      --fitting;
    }
  }
  // Whole, or nothing fits (Deliver then reports the object cut short); or with tool_choice auto,
  // the first token: a call, or any text at all, which may be empty.
  const bool undecided = reply_ == Reply::kUndecided;
  if (undecided) json_mask_->AllowTextStart(allowed_);
  if (fitting == 0 || undecided) {
    for (int32_t id : request_.stop_token_ids) {
      if (id >= 0 && static_cast<size_t>(id) < allowed_.size()) allowed_[id] = 1;
    }
  }
  masked_.resize(logits.size());
  for (size_t i = 0; i < masked_.size(); ++i) {
    masked_[i] = allowed_[i] != 0 ? logits[i] : -std::numeric_limits<float>::infinity();
  }
  return masked_;
}

bool ChoiceStream::JsonComplete() const {
  return std::visit([](const auto& json) { return json.complete(); }, json_);
}

int32_t ChoiceStream::Next(std::span<const float> logits, std::optional<OwnedDelta>& delta) {
  if (Constrained()) logits = MaskForJson(logits);
  SampledToken token = request_.logprobs ? sampler_.SampleWithLogprobs(logits, request_.top_logprobs)
                                         : SampledToken{.id = sampler_.Sample(logits), .logprob = 0, .top = {}};
  return Deliver(std::move(token), delta);
}

DeviceDraw ChoiceStream::NextDraw() const {
  const SamplingParams& p = sampler_.params();
  return DeviceDraw{.temperature = p.temperature,
                    .top_p = p.top_p,
                    .top_k = p.top_k,
                    .min_p = p.min_p,
                    .seed = p.seed,
                    .step = static_cast<uint64_t>(generated_),
                    .adjustments = sampler_.Adjustments()};
}

int32_t ChoiceStream::Accept(int32_t token, std::optional<OwnedDelta>& delta) {
  sampler_.Record(token);
  return Deliver(SampledToken{.id = token, .logprob = 0, .top = {}}, delta);
}

int32_t ChoiceStream::Deliver(SampledToken token, std::optional<OwnedDelta>& delta) {
  delta.reset();
  const int32_t id = token.id;
  ++generated_;
  std::optional<FinishReason> finish;
  OwnedDelta out;
  out.index = index_;
  const auto& stop_ids = request_.stop_token_ids;
  const bool is_stop = std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end();
  if (reply_ == Reply::kUndecided) {
    const std::string bytes = is_stop ? std::string() : tokenizer_->TokenBytes(id);
    reply_ = !bytes.empty() && static_cast<uint8_t>(bytes[0]) == kCallFirstByte ? Reply::kToolCall : Reply::kText;
  }
  if (is_stop) {
    if (reply_ == Reply::kCallOrJson) SettleCallOrJson(/*ending=*/true);
    // An echoed completion lists the stop token too: its logprobs are then the prompt's and every
    // generated token's, which is what a scorer such as lm-eval slices (the last is the generated one).
    if (request_.logprobs && request_.prompt_logprobs) pending_.push_back(std::move(token));
    // Never printed: release what was held back, and any bytes the decoder still had.
    Emit(decoder_ ? decoder_->Flush() : "", true, out);
    // In JSON mode a stop token before the object is whole means nothing else fitted: cut short.
    finish = Constrained() && !JsonComplete()  ? FinishReason::kLength
             : reply_ == Reply::kToolCall ? FinishReason::kToolCalls
                                          : FinishReason::kStop;
  } else {
    // The mask let through only tokens whose bytes the JSON state takes, so this cannot fail.
    if (Constrained()) {
      const std::string bytes = tokenizer_->TokenBytes(id);
      std::visit([&](auto& json) { json.FeedTaken(bytes); }, json_);
      if (reply_ == Reply::kCallOrJson) SettleCallOrJson(/*ending=*/false);
    }
    if (request_.logprobs) pending_.push_back(std::move(token));
    Emit(decoder_ ? decoder_->Push(id) : "", false, out);  // specials decode to ""
    if (!filter_.stopped() && generated_ >= budget_) {
      if (reply_ == Reply::kCallOrJson) SettleCallOrJson(/*ending=*/true);
      Emit(decoder_ ? decoder_->Flush() : "", true, out);
      // A call or a JSON answer whose last byte came with the last token is whole all the same: only
      // the stop token could have come next.
      const bool whole = (reply_ == Reply::kToolCall || reply_ == Reply::kJson) && JsonComplete();
      finish = !whole ? FinishReason::kLength : reply_ == Reply::kToolCall ? FinishReason::kToolCalls : FinishReason::kStop;
    }
    if (filter_.stopped()) finish = FinishReason::kStop;
  }
  out.finish = finish;
  if (!out.text.empty() || !out.tool_name.empty() || !out.tool_arguments.empty() || finish) {
    out.tokens = std::move(pending_);
    pending_.clear();
    delta = std::move(out);
  }
  finish_ = finish;
  return id;
}

void ChoiceStream::SettleCallOrJson(bool ending) {
  const auto& reply = std::get<CallOrJsonPrefix>(json_);
  if (!reply.json_possible() || (ending && reply.call_possible() && reply.call().complete())) {
    reply_ = Reply::kToolCall;
  } else if (!reply.call_possible() || ending) {
    reply_ = Reply::kJson;
  }
}

void ChoiceStream::Emit(std::string_view decoded, bool final, OwnedDelta& delta) {
  if (reply_ == Reply::kCallOrJson) {
    held_ += decoded;
    return;
  }
  // What was held, if anything, comes first (a plain text reply never holds any).
  std::string_view text = decoded;
  if (!held_.empty()) {
    held_ += decoded;
    text = held_;
  }
  if (reply_ != Reply::kToolCall) {
    delta.text += filter_.Push(text, final);
  } else {
    for (char c : text) {
      const bool named = released_call_->tool().has_value();
      // The drawn call took these bytes, and the released text is a prefix of it.
      released_call_->FeedOrSpoil(static_cast<uint8_t>(c));
      if (released_call_->part() == ToolCallPrefix::Part::kArguments) delta.tool_arguments += c;
      if (!named && released_call_->tool()) delta.tool_name = request_.tools->tool(*released_call_->tool()).name;
    }
  }
  held_.clear();
}

}  // namespace cai::inference
