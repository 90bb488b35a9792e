#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace cai::inference {

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy (argmax)
  float top_p = 1.0f;        // nucleus mass in (0, 1]
  uint64_t seed = 0;
};

// temperature in [0, 2] (as OpenAI), top_p in (0, 1]; InvalidArgument naming the field otherwise.
absl::Status ValidateSamplingParams(const SamplingParams& params);

// Picks the next token from logits. The same params (seed included) and logits give the same
// tokens on every run.
class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  int32_t Sample(std::span<const float> logits);

 private:
  double NextUniform();  // [0, 1), from 53 bits, identical on every standard library

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<float> probs_;
  std::vector<int32_t> order_;
};

}  // namespace cai::inference
