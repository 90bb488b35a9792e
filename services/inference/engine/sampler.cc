#include "services/inference/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace cai::inference {

absl::Status ValidateSamplingParams(const SamplingParams& params) {
  if (!(params.temperature >= 0.0f && params.temperature <= 2.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("temperature ", params.temperature, " is outside [0, 2]"));
  }
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p ", params.top_p, " is outside (0, 1]"));
  }
  return absl::OkStatus();
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

double Sampler::NextUniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::Sample(std::span<const float> logits) {
  const size_t n = logits.size();
  if (params_.temperature == 0.0f) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  // Softmax of logits / temperature.
  probs_.resize(n);
  float max = *std::max_element(logits.begin(), logits.end());
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    probs_[i] = std::exp((logits[i] - max) / params_.temperature);
    total += probs_[i];
  }
  // Nucleus: the most likely tokens whose mass reaches top_p (at least one), renormalised.
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  size_t keep = n;
  if (params_.top_p < 1.0f) {
    std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
      return probs_[a] != probs_[b] ? probs_[a] > probs_[b] : a < b;
    });
    double mass = 0, target = params_.top_p * total;
    for (keep = 0; keep < n;) {
      mass += probs_[order_[keep++]];
      if (mass >= target) break;
    }
    total = mass;
  }
  double r = NextUniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= probs_[order_[i]];
    if (r < 0) return order_[i];
  }
  return order_[keep - 1];  // rounding left a sliver of mass
}

}  // namespace cai::inference
