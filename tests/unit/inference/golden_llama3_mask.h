#pragma once

// The golden Llama 3 tokenizer and its JSON token mask, built once per test suite, and a driver of
// a choice on random logits: what the choice stream tests of JSON mode and tool calls draw under.
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "services/inference/engine/choice_stream.h"
#include "services/inference/engine/json_token_mask.h"
#include "services/inference/engine/tokenizer/tokenizer.h"

namespace cai::inference::testing {

class GoldenLlama3Mask : public ::testing::Test {
 protected:
  static constexpr int32_t kStopToken = 737;  // <|end_of_text|> of the golden Llama 3 tokenizer

  static void SetUpTestSuite() {
    auto tokenizer = Tokenizer::FromFile(std::string(CAI_GOLDEN_DIR) + "/models/llama3/tokenizer.json");
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    tokenizer_ = tokenizer->release();
    mask_ = new JsonTokenMask(*tokenizer_);
  }
  static void TearDownTestSuite() {
    delete mask_;
    delete tokenizer_;
    mask_ = nullptr;
    tokenizer_ = nullptr;
  }

  // A one-token prompt, drawn at temperature 1 with `seed`, ended by the stop token.
  static GenerationRequest BaseRequest(uint64_t seed) {
    GenerationRequest r;
    r.prompt = {1};
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed;
    r.stop_token_ids = {kStopToken};
    return r;
  }

  // A token's logit at a step: `noise` (a standard normal draw, seeded) plus what a test adds.
  using Logit = std::function<float(float noise, int32_t id, int64_t step)>;

  // Runs `stream` to its end on random logits from `logits_seed`, handing each delta to `on_delta`.
  static void RunOnRandomLogits(ChoiceStream& stream, uint32_t logits_seed, const Logit& logit,
                                const std::function<void(const OwnedDelta&)>& on_delta) {
    std::mt19937 rng(logits_seed);
    std::normal_distribution<float> normal;
    std::vector<float> logits(static_cast<size_t>(tokenizer_->vocab_size()));
    while (!stream.done()) {
      for (size_t id = 0; id < logits.size(); ++id) {
        logits[id] = logit(normal(rng), static_cast<int32_t>(id), stream.generated());
      }
      std::optional<OwnedDelta> delta;
      stream.Next(logits, delta);
      if (delta) on_delta(*delta);
    }
  }

  static inline Tokenizer* tokenizer_ = nullptr;
  static inline JsonTokenMask* mask_ = nullptr;
};

}  // namespace cai::inference::testing
