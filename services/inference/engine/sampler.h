#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"

namespace cai::inference {

inline constexpr size_t kMaxLogitBias = 300;  // as OpenAI
inline constexpr int kMaxTopLogprobs = 20;    // as OpenAI
inline constexpr float kMinLogprob = -9999.0f;  // OpenAI's "very unlikely"; JSON has no -inf

struct SamplingParams {
  float temperature = 1.0f;  // [0, 2]; 0: greedy (argmax, lowest id on ties)
  float top_p = 1.0f;        // nucleus mass in (0, 1]
  int32_t top_k = 0;         // keep the k most likely; 0: off
  float min_p = 0.0f;        // [0, 1]; drop tokens with p < min_p * p_max (vLLM)
  float presence_penalty = 0.0f;   // [-2, 2]: subtracted once from every token already generated
  float frequency_penalty = 0.0f;  // [-2, 2]: subtracted once per time a token was generated
  std::vector<std::pair<int32_t, float>> logit_bias = {};  // token id -> [-100, 100], added to the logit
  uint64_t seed = 0;
};

// Ranges as OpenAI (and vLLM for top_k / min_p); logit_bias ids must be below `vocab_size`, each
// named once.
// InvalidArgument naming the field otherwise.
absl::Status ValidateSamplingParams(const SamplingParams& params, int32_t vocab_size);

struct Candidate {
  int32_t id = 0;
  float logprob = 0.0f;
};

// One token's change to its logit before a draw: (logit + bias) - penalty, in that order, which is
// how Sampler applies logit_bias and then the presence and frequency penalties.
struct LogitAdjustment {
  int32_t id = 0;
  float bias = 0.0f;
  float penalty = 0.0f;
};

struct SampledToken {
  int32_t id = 0;
  float logprob = 0.0f;        // filled only by SampleWithLogprobs
  std::vector<Candidate> top;  // the top_logprobs most likely, best first (lowest id on ties);
                               // fewer where fewer tokens have a finite logit
};

// Token `id`'s log-probability under log-softmax(logits), at least kMinLogprob, and the `top`
// (0..kMaxTopLogprobs) most likely tokens, best first (lowest id on ties; none whose logit is
// -inf). `order` is scratch, kept by the caller so its memory is reused.
SampledToken ScoreToken(std::span<const float> logits, int32_t id, int top, std::vector<int32_t>& order);
// The same, for a caller that already knows the largest logit.
SampledToken ScoreToken(std::span<const float> logits, float max_logit, int32_t id, int top,
                        std::vector<int32_t>& order);

// Picks next tokens for one sequence. Order of operations is vLLM v1's:
//   logit_bias -> presence/frequency penalties -> temperature -> min_p -> top_k -> top_p -> draw.
// Penalties count the tokens this sampler has returned so far (the completion, not the prompt),
// as OpenAI. Log-probabilities are the log-softmax after bias and penalties, before temperature
// and the filters, so they describe the model's (biased) distribution whatever the temperature.
// The same params (seed included) and logits give the same tokens on every run.
class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  int32_t Sample(std::span<const float> logits);
  // As Sample, plus the chosen token's log-probability and the `top_logprobs` best alternatives.
  SampledToken SampleWithLogprobs(std::span<const float> logits, int top_logprobs);

  // For draws made elsewhere (on a GPU) from the same distribution: the parameters, the
  // adjustments the next draw needs (logit_bias, and the penalties of the tokens returned or
  // recorded so far), by token id; and Record, which counts a token drawn elsewhere for them.
  const SamplingParams& params() const { return params_; }
  std::vector<LogitAdjustment> Adjustments() const;
  void Record(int32_t id) { ++counts_[id]; }

 private:
  // logits + bias - penalties (in adjusted_, or `logits` itself when nothing changes).
  std::span<const float> Adjust(std::span<const float> logits);
  int32_t Pick(std::span<const float> adjusted);  // temperature, filters and the draw
  double NextUniform();  // [0, 1), from 53 bits, identical on every standard library

  SamplingParams params_;
  bool penalised_ = false;  // a presence or frequency penalty is set
  std::mt19937_64 rng_;
  absl::flat_hash_map<int32_t, int32_t> counts_;  // generated token -> times
  absl::flat_hash_set<int32_t> bias_ids_;         // the ids of params_.logit_bias
  std::vector<float> adjusted_;
  size_t argmax_ = 0;             // of the last Pick
  std::vector<double> weights_;   // unnormalised probabilities of the candidates
  std::vector<int32_t> order_;    // candidate ids
  std::vector<double> bucket_mass_;  // nucleus search: weight per weight bucket
};

}  // namespace cai::inference
