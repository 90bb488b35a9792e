#pragma once

#include <cstdint>
#include <string>

#include "cai/v1/inference.pb.h"
#include "services/inference/engine/sampler.h"
#include "services/inference/engine/tokenizer/tokenizer.h"
#include "services/inference/engine/tokenizer/utf8.h"

namespace cai::inference {

// A token as OpenAI's logprobs show it: lossy UTF-8 text plus the raw bytes (T: v1::TokenLogprob
// or v1::TopLogprob).
template <typename T>
void FillTokenText(const Tokenizer& tokenizer, int32_t id, T* out) {
  std::string bytes = tokenizer.TokenBytes(id);
  std::string text;
  AppendUtf8Lossy(bytes, /*final=*/true, &text);
  out->set_token(std::move(text));
  out->set_bytes(std::move(bytes));
}

// `token` with its log-probability and alternatives.
inline void FillTokenLogprob(const Tokenizer& tokenizer, const SampledToken& token, v1::TokenLogprob* out) {
  FillTokenText(tokenizer, token.id, out);
  out->set_logprob(token.logprob);
  for (const Candidate& top : token.top) {
    v1::TopLogprob* alternative = out->add_top_logprobs();
    FillTokenText(tokenizer, top.id, alternative);
    alternative->set_logprob(top.logprob);
  }
}

}  // namespace cai::inference
