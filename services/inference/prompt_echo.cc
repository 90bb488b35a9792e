#include "services/inference/prompt_echo.h"

#include <algorithm>

#include "services/inference/logprob_proto.h"

namespace cai::inference {

PromptEcho::PromptEcho(const Tokenizer& tokenizer, std::span<const int32_t> prompt, std::string text, bool logprobs)
    : tokenizer_(tokenizer), prompt_(prompt.begin(), prompt.end()), text_(std::move(text)), logprobs_(logprobs) {}

void PromptEcho::AddScores(std::span<const SampledToken> scores) {
  scores_.insert(scores_.end(), scores.begin(), scores.end());
}

std::vector<v1::GenerateResponse> PromptEcho::Messages(uint32_t index) const {
  std::vector<v1::GenerateResponse> out(1);
  out.front().set_text(text_);
  if (!logprobs_) {
    out.front().set_index(index);
    return out;
  }
  for (size_t i = 0; i < std::min(prompt_.size(), scores_.size() + 1); ++i) {
    if (i > 0 && i % kTokensPerMessage == 0) out.emplace_back();
    v1::TokenLogprob* token = out.back().add_logprobs();
    if (i == 0) {
      FillTokenText(tokenizer_, prompt_[0], token);  // nothing precedes it: no logprob
    } else {
      FillTokenLogprob(tokenizer_, scores_[i - 1], token);
    }
  }
  for (v1::GenerateResponse& message : out) message.set_index(index);
  return out;
}

}  // namespace cai::inference
