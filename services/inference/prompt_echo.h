#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cai/v1/inference.pb.h"
#include "services/inference/engine/sampler.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference {

// OpenAI's echo for one request (GenerateRequest.echo): the prompt's text, and with logprobs its
// tokens' scores as the engine delivers them (GenerationRequest.prompt_logprobs), turned into the
// messages that open each choice. Holds the scores until the last one arrives: at most one
// SampledToken per prompt token.
class PromptEcho {
 public:
  // Prompt tokens per message, so that a long prompt's scores (up to 21 tokens each with
  // top_logprobs 20) stay well inside a gRPC message.
  static constexpr size_t kTokensPerMessage = 512;

  // `prompt`: the token ids, as the engine runs them (it must outlive this); `text`: what the
  // choices echo.
  PromptEcho(const Tokenizer& tokenizer, std::span<const int32_t> prompt, std::string text, bool logprobs);

  // The engine's next scores (each prompt token after the first, in order).
  void AddScores(std::span<const SampledToken> scores);
  // Every score has arrived (at once without logprobs): the messages can go out.
  bool complete() const { return !logprobs_ || scores_.size() + 1 >= prompt_.size(); }

  // The opening messages of every choice (index 0: the caller sets each choice's), made one at a
  // time (part 0..parts()-1) so that only one is held: the text on the first, the tokens spread
  // over all.
  size_t parts() const;
  v1::GenerateResponse Message(size_t part) const;

 private:
  const Tokenizer& tokenizer_;
  const std::span<const int32_t> prompt_;
  const std::string text_;
  const bool logprobs_;
  std::vector<SampledToken> scores_;
};

}  // namespace cai::inference
