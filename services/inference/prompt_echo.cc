#include "services/inference/prompt_echo.h"

#include <algorithm>

#include "services/inference/logprob_proto.h"

namespace cai::inference {

PromptEcho::PromptEcho(const Tokenizer& tokenizer, std::span<const int32_t> prompt, std::string text, bool logprobs)
    : tokenizer_(tokenizer), prompt_(prompt), text_(std::move(text)), logprobs_(logprobs) {}

void PromptEcho::AddScores(std::span<const SampledToken> scores) {
  scores_.insert(scores_.end(), scores.begin(), scores.end());
}

size_t PromptEcho::parts() const {
  if (!logprobs_) return 1;
  return (prompt_.size() + kTokensPerMessage - 1) / kTokensPerMessage;
}

v1::GenerateResponse PromptEcho::Message(size_t part) const {
  v1::GenerateResponse out;
  if (part == 0) out.set_text(text_);
  if (!logprobs_) return out;
  const size_t end = std::min({prompt_.size(), scores_.size() + 1, (part + 1) * kTokensPerMessage});
  for (size_t i = part * kTokensPerMessage; i < end; ++i) {
    v1::TokenLogprob* token = out.add_logprobs();
    if (i == 0) {
      FillTokenText(tokenizer_, prompt_[0], token);  // nothing precedes it: no logprob
    } else {
      FillTokenLogprob(tokenizer_, scores_[i - 1], token);
    }
  }
  return out;
}

}  // namespace cai::inference
