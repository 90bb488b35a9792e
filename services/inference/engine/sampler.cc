#include "services/inference/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace cai::inference {
namespace {

// std::max_element's answer (the first of the largest) from eight independent running maxima: one
// compare-and-move chain over a 128k vocabulary is latency-bound (~3.5 ns a logit); eight are not.
size_t FirstMaxIndex(const float* x, size_t n) {
  constexpr size_t kLanes = 8;
  if (n < 2 * kLanes) return static_cast<size_t>(std::max_element(x, x + n) - x);
  float best[kLanes];
  size_t at[kLanes];
  for (size_t l = 0; l < kLanes; ++l) best[l] = x[l], at[l] = l;
  size_t i = kLanes;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      if (x[i + l] > best[l]) best[l] = x[i + l], at[l] = i + l;
    }
  }
  size_t winner = 0;
  for (size_t l = 1; l < kLanes; ++l) {
    if (best[l] > best[winner] || (best[l] == best[winner] && at[l] < at[winner])) winner = l;
  }
  for (; i < n; ++i) {  // the tail comes after every lane's index: only a strictly larger value wins
    if (x[i] > best[winner]) best[winner] = x[i], at[winner] = i;
  }
  return at[winner];
}

// Weight buckets for the nucleus, by the weight's binary exponent and top three mantissa bits:
// bucket 7 holds a weight of exactly 1 (the most likely token's), then 8 per power of two below it
// down to 2^-63, then one bucket for everything smaller (and 0).
constexpr int kWeightBuckets = 64 * 8 + 1;

// Larger weights (in [0, 1]) get smaller (or equal) buckets; equal weights share one.
int WeightBucket(double weight) {
  if (!(weight > 0)) return kWeightBuckets - 1;
  int exponent = 0;
  const double mantissa = std::frexp(weight, &exponent);  // weight = mantissa * 2^exponent, mantissa in [0.5, 1)
  const int octave = 1 - exponent;  // 0 for a weight of exactly 1, 1 for [0.5, 1), ...
  if (octave >= 64) return kWeightBuckets - 1;
  return octave * 8 + (7 - static_cast<int>((mantissa - 0.5) * 16));
}

bool InRange(float value, float low, float high) { return value >= low && value <= high; }  // NaN fails

}  // namespace

absl::Status ValidateSamplingParams(const SamplingParams& params, int32_t vocab_size) {
  if (!InRange(params.temperature, 0.0f, 2.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("temperature ", params.temperature, " is outside [0, 2]"));
  }
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p ", params.top_p, " is outside (0, 1]"));
  }
  if (params.top_k < 0) return absl::InvalidArgumentError(absl::StrCat("top_k ", params.top_k, " is negative"));
  if (!InRange(params.min_p, 0.0f, 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("min_p ", params.min_p, " is outside [0, 1]"));
  }
  if (!InRange(params.presence_penalty, -2.0f, 2.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("presence_penalty ", params.presence_penalty, " is outside [-2, 2]"));
  }
  if (!InRange(params.frequency_penalty, -2.0f, 2.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("frequency_penalty ", params.frequency_penalty, " is outside [-2, 2]"));
  }
  if (params.logit_bias.size() > kMaxLogitBias) {
    return absl::InvalidArgumentError(absl::StrCat("logit_bias has more than ", kMaxLogitBias, " entries"));
  }
  absl::flat_hash_set<int32_t> biased;
  for (const auto& [id, bias] : params.logit_bias) {
    if (!biased.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("logit_bias names token ", id, " twice"));
    }
    if (id < 0 || id >= vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("logit_bias token id ", id, " is outside the vocabulary [0, ", vocab_size, ")"));
    }
    if (!InRange(bias, -100.0f, 100.0f)) {
      return absl::InvalidArgumentError(absl::StrCat("logit_bias value ", bias, " is outside [-100, 100]"));
    }
  }
  return absl::OkStatus();
}

Sampler::Sampler(const SamplingParams& params)
    : params_(params),
      penalised_(params.presence_penalty != 0.0f || params.frequency_penalty != 0.0f),
      rng_(params.seed) {
  for (const auto& [id, bias] : params_.logit_bias) bias_ids_.insert(id);
}

double Sampler::NextUniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

std::span<const float> Sampler::Adjust(std::span<const float> logits) {
  if (params_.logit_bias.empty() && (!penalised_ || counts_.empty())) return logits;  // nothing to change
  adjusted_.assign(logits.begin(), logits.end());
  const int32_t n = static_cast<int32_t>(adjusted_.size());
  for (const auto& [id, bias] : params_.logit_bias) {
    if (id >= 0 && id < n) adjusted_[id] += bias;
  }
  // Each token's adjustment is independent, so the map's iteration order does not matter.
  if (penalised_) {
    for (const auto& [id, count] : counts_) {
      if (id < n) adjusted_[id] -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    }
  }
  return adjusted_;
}

int32_t Sampler::Pick(std::span<const float> adjusted) {
  const size_t n = adjusted.size();
  const size_t argmax = argmax_ = FirstMaxIndex(adjusted.data(), n);
  if (params_.temperature == 0.0f) return static_cast<int32_t>(argmax);

  // Weights relative to the most likely token (whose weight is 1), so min_p compares directly:
  // p < min_p * p_max  <=>  weight < min_p.
  const float max = adjusted[argmax];
  weights_.resize(n);
  order_.clear();
  for (size_t i = 0; i < n; ++i) {
    weights_[i] = std::exp(static_cast<double>(adjusted[i] - max) / params_.temperature);
    // A token of weight 0 (a logit of -infinity: JSON mode's mask) has no chance and is no candidate.
    if (weights_[i] > 0 && weights_[i] >= params_.min_p) order_.push_back(static_cast<int32_t>(i));
  }
  auto more_likely = [&](int32_t a, int32_t b) { return weights_[a] != weights_[b] ? weights_[a] > weights_[b] : a < b; };
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < order_.size()) {
    std::nth_element(order_.begin(), order_.begin() + params_.top_k, order_.end(), more_likely);
    order_.resize(params_.top_k);
    std::sort(order_.begin(), order_.end(), more_likely);
  }
  double total = 0;
  for (int32_t id : order_) total += weights_[id];
  // Nucleus: the most likely survivors whose mass reaches top_p of theirs (at least one). It is a
  // prefix of the candidates in more_likely order, usually far shorter than the vocabulary, so
  // only the candidates of the heaviest weight buckets that hold the nucleus are sorted. Buckets
  // are ranges of weight, so those candidates are exactly the head of a full sort, and the kept
  // tokens and sums are a full sort's; a bucket more is taken if rounding left the head short.
  if (params_.top_p < 1.0f) {
    const double target = params_.top_p * total;
    bucket_mass_.assign(kWeightBuckets, 0.0);
    for (int32_t id : order_) bucket_mass_[WeightBucket(weights_[id])] += weights_[id];
    int last = 0;
    for (double mass = bucket_mass_[0]; mass < target && last + 1 < kWeightBuckets;) mass += bucket_mass_[++last];
    for (;; ++last) {
      auto head_end = std::partition(order_.begin(), order_.end(), [&](int32_t id) {
        return WeightBucket(weights_[id]) <= last;
      });
      std::sort(order_.begin(), head_end, more_likely);
      const size_t head = static_cast<size_t>(head_end - order_.begin());
      double mass = 0;
      size_t keep = 0;
      while (keep < head) {
        mass += weights_[order_[keep++]];
        if (mass >= target) break;
      }
      if (mass >= target || last + 1 >= kWeightBuckets) {
        order_.resize(std::max<size_t>(keep, 1));
        total = keep > 0 ? mass : weights_[order_[0]];
        break;
      }
    }
  }
  double r = NextUniform() * total;
  for (int32_t id : order_) {
    r -= weights_[id];
    if (r < 0) return id;
  }
  return order_.back();  // rounding left a sliver of mass
}

std::vector<LogitAdjustment> Sampler::Adjustments() const {
  auto penalty = [&](int32_t id) {
    auto it = penalised_ ? counts_.find(id) : counts_.end();
    return it == counts_.end() ? 0.0f
                               : static_cast<float>(it->second) * params_.frequency_penalty + params_.presence_penalty;
  };
  std::vector<LogitAdjustment> out;
  out.reserve(params_.logit_bias.size() + (penalised_ ? counts_.size() : 0));
  for (const auto& [id, bias] : params_.logit_bias) out.push_back({id, bias, penalty(id)});  // ids are unique
  if (penalised_) {
    for (const auto& [id, count] : counts_) {
      if (!bias_ids_.contains(id)) out.push_back({id, 0.0f, penalty(id)});
    }
  }
  return out;
}

int32_t Sampler::Sample(std::span<const float> logits) {
  int32_t id = Pick(Adjust(logits));
  ++counts_[id];
  return id;
}

SampledToken Sampler::SampleWithLogprobs(std::span<const float> logits, int top_logprobs) {
  const std::span<const float> adjusted = Adjust(logits);
  const int32_t id = Pick(adjusted);
  ++counts_[id];
  return ScoreToken(adjusted, adjusted[argmax_], id, top_logprobs, order_);  // Pick found the max
}

SampledToken ScoreToken(std::span<const float> logits, int32_t id, int top, std::vector<int32_t>& order) {
  return ScoreToken(logits, *std::max_element(logits.begin(), logits.end()), id, top, order);
}

SampledToken ScoreToken(std::span<const float> logits, float max_logit, int32_t id, int top,
                        std::vector<int32_t>& order) {
  const double max = max_logit;
  double sum = 0;
  for (float x : logits) sum += std::exp(x - max);
  const double log_total = max + std::log(sum);
  auto logprob = [&](int32_t token) { return std::max(kMinLogprob, static_cast<float>(logits[token] - log_total)); };
  SampledToken out{.id = id, .logprob = logprob(id), .top = {}};
  const size_t k = std::min<size_t>(std::clamp(top, 0, kMaxTopLogprobs), logits.size());
  if (k > 0) {
    order.resize(logits.size());
    std::iota(order.begin(), order.end(), 0);
    auto higher = [&](int32_t a, int32_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; };
    std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(k), order.end(), higher);
    for (size_t i = 0; i < k; ++i) {
      if (logits[order[i]] == -std::numeric_limits<float>::infinity()) break;  // ruled out (JSON mode's mask)
      out.top.push_back({order[i], logprob(order[i])});
    }
  }
  return out;
}

}  // namespace cai::inference
