#include "services/inference/engine/generator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/tokenizer/stream_decoder.h"

namespace cai::inference {
namespace {

absl::Status ValidateRequest(const GenerationRequest& request, int64_t context) {
  if (request.prompt.empty()) return absl::InvalidArgumentError("the prompt has no tokens");
  int64_t prompt = static_cast<int64_t>(request.prompt.size());
  if (prompt >= context) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt has ", prompt, " tokens; the model's context is ",
                                                   context, " tokens, which leaves no room to generate"));
  }
  if (request.max_tokens < 0) return absl::InvalidArgumentError("max_tokens is negative");
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
  return ValidateSamplingParams(request.sampling);
}

// Text that has been decoded but not yet handed out, because it might begin a stop string.
class StopFilter {
 public:
  explicit StopFilter(const std::vector<std::string>& stops) : stops_(stops) {}

  // Adds `text`; returns what can be released now. Sets stopped() when a stop string appears,
  // in which case the returned text ends right before it and everything after is dropped.
  std::string Push(std::string_view text, bool final) {
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

  bool stopped() const { return stopped_; }

 private:
  // Length of the longest suffix of pending_ that is a proper prefix of some stop string.
  size_t HeldBack() const {
    for (size_t k = std::min(pending_.size(), kMaxStopStringBytes); k > 0; --k) {
      std::string_view tail = std::string_view(pending_).substr(pending_.size() - k);
      for (const std::string& stop : stops_) {
        if (stop.size() > k && std::string_view(stop).starts_with(tail)) return k;
      }
    }
    return 0;
  }

  const std::vector<std::string>& stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace

absl::StatusOr<GenerationResult> Generate(const LlamaModel& model, const Tokenizer& tokenizer,
                                          const GenerationRequest& request, const TextCallback& on_text,
                                          const CancelCheck& cancelled) {
  const int64_t context = model.config().max_position_embeddings;
  absl::Status valid = ValidateRequest(request, context);
  if (!valid.ok()) return valid;

  GenerationResult result;
  result.prompt_tokens = static_cast<int64_t>(request.prompt.size());
  int64_t budget = context - result.prompt_tokens;
  if (request.max_tokens > 0) budget = std::min(budget, request.max_tokens);

  auto emit = [&](const std::string& text) { return text.empty() || on_text(text); };
  const absl::Status cancelled_status = absl::CancelledError("generation cancelled");

  KvCache cache = model.NewCache();
  std::vector<float> logits(model.config().vocab_size);
  if (cancelled()) return cancelled_status;
  absl::Status status = model.Forward(request.prompt, cache, logits);
  if (!status.ok()) return status;

  Sampler sampler(request.sampling);
  StreamDecoder decoder(tokenizer);
  StopFilter filter(request.stop);
  while (true) {
    int32_t token = sampler.Sample(logits);
    ++result.completion_tokens;
    if (std::find(request.stop_token_ids.begin(), request.stop_token_ids.end(), token) !=
        request.stop_token_ids.end()) {
      result.finish_reason = FinishReason::kStop;
      break;
    }
    if (!emit(filter.Push(decoder.Push(token), false))) return cancelled_status;  // specials decode to ""
    if (filter.stopped()) {
      result.finish_reason = FinishReason::kStop;
      return result;
    }
    if (result.completion_tokens >= budget) {
      result.finish_reason = FinishReason::kLength;
      break;
    }
    if (cancelled()) return cancelled_status;
    status = model.Forward({&token, 1}, cache, logits);
    if (!status.ok()) return status;
  }
  // Release what was held back, and any bytes the decoder still had.
  if (!emit(filter.Push(decoder.Flush(), true))) return cancelled_status;
  if (filter.stopped()) result.finish_reason = FinishReason::kStop;
  return result;
}

}  // namespace cai::inference
