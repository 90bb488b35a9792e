#include "services/inference/engine/generator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/inference/engine/tokenizer/stream_decoder.h"

namespace cai::inference {
namespace {

absl::Status ValidateRequest(const GenerationRequest& request, int64_t context, int32_t vocab_size) {
  if (request.prompt.empty()) return absl::InvalidArgumentError("the prompt has no tokens");
  int64_t prompt = static_cast<int64_t>(request.prompt.size());
  if (prompt >= context) {
    return absl::InvalidArgumentError(absl::StrCat("the prompt has ", prompt, " tokens; the model's context is ",
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
  for (int32_t id : request.prompt) {
    if (id < 0 || id >= vocab_size) return absl::InvalidArgumentError(absl::StrCat("prompt token ", id, " is unknown"));
  }
  return ValidateSamplingParams(request.sampling, vocab_size);
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

// One choice: its own cache, sampler, decoder and stop state.
struct Choice {
  Choice(KvCache kv, std::vector<float> first_logits, const SamplingParams& params, const Tokenizer& tokenizer,
         const std::vector<std::string>& stops)
      : cache(std::move(kv)), logits(std::move(first_logits)), sampler(params), decoder(tokenizer), filter(stops) {}

  KvCache cache;
  std::vector<float> logits;  // of the next position
  Sampler sampler;
  StreamDecoder decoder;
  StopFilter filter;
  std::vector<SampledToken> pending;  // logprobs not yet delivered
  int32_t last = 0;                   // the token to feed next
  int64_t generated = 0;
  bool done = false;
};

}  // namespace

absl::StatusOr<GenerationResult> Generate(const TransformerModel& model, const Tokenizer& tokenizer,
                                          const GenerationRequest& request, const DeltaCallback& on_delta,
                                          const CancelCheck& cancelled) {
  const int64_t context = model.config().max_position_embeddings;
  const int32_t vocab_size = static_cast<int32_t>(model.config().vocab_size);
  absl::Status valid = ValidateRequest(request, context, vocab_size);
  if (!valid.ok()) return valid;

  GenerationResult result;
  result.prompt_tokens = static_cast<int64_t>(request.prompt.size());
  result.finish_reasons.assign(request.n, FinishReason::kLength);
  int64_t budget = context - result.prompt_tokens;
  if (request.max_tokens > 0) budget = std::min(budget, request.max_tokens);
  const absl::Status cancelled_status = absl::CancelledError("generation cancelled");

  // The prompt is prefilled once; every choice starts from a copy of its cache.
  KvCache prompt_cache = model.NewCache();
  std::vector<float> prompt_logits(vocab_size);
  if (cancelled()) return cancelled_status;
  absl::Status status = model.Forward(request.prompt, prompt_cache, prompt_logits);
  if (!status.ok()) return status;
  std::vector<Choice> choices;
  choices.reserve(request.n);
  for (int i = 0; i < request.n; ++i) {
    SamplingParams params = request.sampling;
    params.seed += static_cast<uint64_t>(i);
    const bool last = i + 1 == request.n;
    choices.emplace_back(last ? std::move(prompt_cache) : prompt_cache,
                         last ? std::move(prompt_logits) : prompt_logits, params, tokenizer, request.stop);
  }

  int active = request.n;
  while (true) {
    for (int i = 0; i < request.n; ++i) {
      Choice& c = choices[i];
      if (c.done) continue;
      SampledToken token = request.logprobs ? c.sampler.SampleWithLogprobs(c.logits, request.top_logprobs)
                                            : SampledToken{.id = c.sampler.Sample(c.logits), .logprob = 0, .top = {}};
      c.last = token.id;
      ++c.generated;
      ++result.completion_tokens;
      std::optional<FinishReason> finish;
      std::string text;
      if (std::find(request.stop_token_ids.begin(), request.stop_token_ids.end(), token.id) !=
          request.stop_token_ids.end()) {
        // Never printed: release what was held back, and any bytes the decoder still had.
        text = c.filter.Push(c.decoder.Flush(), true);
        finish = FinishReason::kStop;
      } else {
        if (request.logprobs) c.pending.push_back(std::move(token));
        text = c.filter.Push(c.decoder.Push(c.last), false);  // specials decode to ""
        if (!c.filter.stopped() && c.generated >= budget) {
          text += c.filter.Push(c.decoder.Flush(), true);
          finish = FinishReason::kLength;
        }
        if (c.filter.stopped()) finish = FinishReason::kStop;
      }
      if (!text.empty() || finish) {
        ChoiceDelta delta{.index = i, .text = text, .tokens = c.pending, .finish = finish};
        if (!on_delta(delta)) return cancelled_status;
        c.pending.clear();
      }
      if (finish) {
        c.done = true;
        result.finish_reasons[i] = *finish;
        --active;
      }
    }
    if (active == 0) return result;
    if (cancelled()) return cancelled_status;
    for (Choice& c : choices) {
      if (c.done) continue;
      status = model.Forward({&c.last, 1}, c.cache, c.logits);
      if (!status.ok()) return status;
    }
  }
}

}  // namespace cai::inference
