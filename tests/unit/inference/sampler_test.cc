#include "services/inference/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include <gtest/gtest.h>

namespace cai::inference {
namespace {

TEST(Sampler, GreedyPicksArgmax) {
  Sampler sampler({.temperature = 0.0f, .top_p = 1.0f, .seed = 1});
  std::vector<float> logits = {0.1f, 3.0f, -1.0f, 2.9f, 3.0f};  // ties: the lowest id
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sampler.Sample(logits), 1);
}

TEST(Sampler, GreedyIsTheFirstMaximumOfALargeVocabulary) {
  // Ties for the maximum across lanes, within a lane, and in the tail after the last full chunk.
  std::mt19937 gen(3);
  std::uniform_int_distribution<int> level(0, 40);
  for (int round = 0; round < 50; ++round) {
    std::vector<float> logits(1000 + round * 37);
    for (float& x : logits) x = static_cast<float>(level(gen)) / 4;  // values repeat often
    if (round % 3 == 0) logits.back() = 100;                          // a unique maximum in the tail
    if (round % 3 == 1) logits[logits.size() - 1] = logits[logits.size() - 2] = 50;  // tied in the tail
    Sampler sampler({.temperature = 0.0f, .seed = 1});
    const auto want = std::max_element(logits.begin(), logits.end()) - logits.begin();
    ASSERT_EQ(sampler.Sample(logits), want) << "round " << round;
    // The logprobs path finds the same maximum (its top candidate).
    Sampler with_logprobs({.temperature = 0.0f, .seed = 1});
    SampledToken token = with_logprobs.SampleWithLogprobs(logits, 1);
    ASSERT_EQ(token.id, want);
    ASSERT_EQ(token.top.at(0).id, want);
  }
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::vector<float> logits(100);
  for (int i = 0; i < 100; ++i) logits[i] = std::sin(i * 0.37f);
  auto draw = [&](uint64_t seed) {
    Sampler sampler({.temperature = 1.0f, .top_p = 0.95f, .seed = seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(sampler.Sample(logits));
    return out;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(Sampler, TopPKeepsOnlyTheNucleus) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.75 keeps the first two (0.5 + 0.3 >= 0.75).
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  Sampler sampler({.temperature = 1.0f, .top_p = 0.75f, .seed = 3});
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[sampler.Sample(logits)];
  EXPECT_EQ(counts.count(2), 0u);
  EXPECT_EQ(counts.count(3), 0u);
  // Renormalised: 0.5 / 0.8 = 0.625 (binomial sd about 0.0034).
  EXPECT_NEAR(counts[0] / double(n), 0.625, 0.02);
}

// The nucleus by a full sort and a linear draw, exactly as the sampler documents it: the sampler,
// which sorts only a growing head of the order, must pick the same token for the same uniform.
int32_t NucleusByFullSort(const std::vector<float>& logits, float temperature, float top_p, double uniform) {
  const float max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> weights(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) weights[i] = std::exp(static_cast<double>(logits[i] - max) / temperature);
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  double total = 0;
  for (int32_t id : order) total += weights[id];
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return weights[a] != weights[b] ? weights[a] > weights[b] : a < b; });
  double mass = 0;
  size_t keep = 0;
  while (keep < order.size()) {
    mass += weights[order[keep++]];
    if (mass >= top_p * total) break;
  }
  double r = uniform * mass;
  for (size_t i = 0; i < keep; ++i) {
    r -= weights[order[i]];
    if (r < 0) return order[i];
  }
  return order[keep - 1];
}

TEST(Sampler, TopPEqualsAFullSortForShortAndLongNuclei) {
  // A large vocabulary with flat logits (nucleus of thousands of tokens, beyond the first sorted
  // head) and peaked ones (a few tokens), plus ties in value.
  std::mt19937 gen(17);
  for (float spread : {0.05f, 1.0f, 8.0f}) {
    std::normal_distribution<float> normal(0.0f, spread);
    std::vector<float> logits(32000);
    for (float& x : logits) x = std::round(normal(gen) * 64) / 64;  // many exact ties
    for (float top_p : {0.1f, 0.9f, 0.999f}) {
      for (float temperature : {0.6f, 1.0f}) {
        const uint64_t seed = 1000 + static_cast<uint64_t>(spread * 10 + top_p * 100 + temperature);
        Sampler sampler({.temperature = temperature, .top_p = top_p, .seed = seed});
        std::mt19937_64 rng(seed);  // the sampler's documented draw: 53 bits of mt19937_64
        for (int i = 0; i < 5; ++i) {
          const double uniform = static_cast<double>(rng() >> 11) * 0x1.0p-53;
          ASSERT_EQ(sampler.Sample(logits), NucleusByFullSort(logits, temperature, top_p, uniform))
              << "spread " << spread << " top_p " << top_p << " temperature " << temperature << " draw " << i;
        }
      }
    }
  }
}

TEST(Sampler, FullDistributionAndTemperature) {
  std::vector<float> logits = {0.0f, std::log(3.0f)};  // 1:3 at temperature 1
  Sampler plain({.temperature = 1.0f, .top_p = 1.0f, .seed = 11});
  Sampler hot({.temperature = 2.0f, .top_p = 1.0f, .seed = 11});  // 1:sqrt(3)
  int ones = 0, hot_ones = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    ones += plain.Sample(logits);
    hot_ones += hot.Sample(logits);
  }
  EXPECT_NEAR(ones / double(n), 0.75, 0.02);
  EXPECT_NEAR(hot_ones / double(n), std::sqrt(3.0) / (1 + std::sqrt(3.0)), 0.02);
}

TEST(Sampler, TinyTopPStillPicksOneToken) {
  Sampler sampler({.temperature = 1.0f, .top_p = 1e-6f, .seed = 5});
  std::vector<float> logits = {1.0f, 5.0f, 2.0f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sampler.Sample(logits), 1);
}

// The share of `n` draws that picked each token.
std::vector<double> Shares(Sampler& sampler, const std::vector<float>& logits, int n = 20000) {
  std::vector<double> shares(logits.size());
  for (int i = 0; i < n; ++i) shares[sampler.Sample(logits)] += 1.0 / n;
  return shares;
}

std::vector<float> Logs(std::initializer_list<float> probs) {
  std::vector<float> out;
  for (float p : probs) out.push_back(std::log(p));
  return out;
}

TEST(Sampler, TopKKeepsTheKMostLikely) {
  // 0.4, 0.3, 0.2, 0.1 with top_k 2: 0.4 / 0.7 and 0.3 / 0.7.
  Sampler sampler({.temperature = 1.0f, .top_k = 2, .seed = 4});
  std::vector<double> shares = Shares(sampler, Logs({0.4f, 0.3f, 0.2f, 0.1f}));
  EXPECT_EQ(shares[2], 0.0);
  EXPECT_EQ(shares[3], 0.0);
  EXPECT_NEAR(shares[0], 4.0 / 7, 0.02);
  // top_k 1 is greedy whatever the seed.
  Sampler one({.temperature = 1.5f, .top_k = 1, .seed = 9});
  for (int i = 0; i < 50; ++i) EXPECT_EQ(one.Sample(Logs({0.2f, 0.5f, 0.3f})), 1);
}

// Logits of -infinity (JSON mode's mask) are never drawn under any filter, and are not listed as
// alternatives: top_logprobs then has fewer entries than asked for.
TEST(Sampler, TokensAtMinusInfinityAreNeverDrawnNorListed) {
  const float out = -std::numeric_limits<float>::infinity();
  const std::vector<float> logits = {out, std::log(0.5f), out, std::log(0.5f), out};
  for (SamplingParams params : {SamplingParams{.temperature = 1.0f, .seed = 1},
                                SamplingParams{.temperature = 1.0f, .top_k = 4, .seed = 2},
                                SamplingParams{.temperature = 2.0f, .top_p = 0.99f, .seed = 3},
                                SamplingParams{.temperature = 0.5f, .min_p = 0.0f, .presence_penalty = 2.0f, .seed = 4},
                                SamplingParams{.temperature = 1.0f, .logit_bias = {{0, 100.0f}}, .seed = 5}}) {
    Sampler sampler(params);
    const std::vector<double> shares = Shares(sampler, logits, 2000);
    EXPECT_EQ(shares[0] + shares[2] + shares[4], 0.0);
  }
  Sampler with_logprobs({.temperature = 1.0f, .seed = 6});
  const SampledToken token = with_logprobs.SampleWithLogprobs(logits, 5);
  ASSERT_EQ(token.top.size(), 2u);
  EXPECT_EQ(token.top[0].id, 1);
  EXPECT_EQ(token.top[1].id, 3);
  EXPECT_NEAR(token.top[0].logprob, std::log(0.5f), 1e-5);
}

TEST(Sampler, MinPDropsTokensBelowAShareOfTheBest) {
  // 0.5, 0.3, 0.15, 0.05; min_p 0.2 drops p < 0.1 (token 3): 0.5 / 0.95 for token 0.
  Sampler sampler({.temperature = 1.0f, .min_p = 0.2f, .seed = 5});
  std::vector<double> shares = Shares(sampler, Logs({0.5f, 0.3f, 0.15f, 0.05f}));
  EXPECT_EQ(shares[3], 0.0);
  EXPECT_GT(shares[2], 0.1);
  EXPECT_NEAR(shares[0], 0.5 / 0.95, 0.02);
  // min_p 0.35 drops p < 0.175: tokens 2 and 3.
  Sampler tight({.temperature = 1.0f, .min_p = 0.35f, .seed = 5});
  shares = Shares(tight, Logs({0.5f, 0.3f, 0.15f, 0.05f}));
  EXPECT_EQ(shares[2], 0.0);
  EXPECT_NEAR(shares[0], 0.625, 0.02);
}

TEST(Sampler, MinPRunsBeforeTopP) {
  // min_p 0.5 keeps 0.5 and 0.3 (renormalised 0.625 / 0.375); top_p 0.6 of that keeps token 0
  // alone. Applied the other way round, top_p 0.6 of the full distribution would keep two.
  Sampler sampler({.temperature = 1.0f, .top_p = 0.6f, .min_p = 0.5f, .seed = 6});
  for (int i = 0; i < 200; ++i) EXPECT_EQ(sampler.Sample(Logs({0.5f, 0.3f, 0.15f, 0.05f})), 0);
}

TEST(Sampler, LogitBiasShiftsTheChoice) {
  std::vector<float> logits = {0.0f, 1.0f, 2.0f};
  Sampler up({.temperature = 0.0f, .logit_bias = {{0, 5.0f}}});
  EXPECT_EQ(up.Sample(logits), 0);
  Sampler ban({.temperature = 0.0f, .logit_bias = {{2, -100.0f}}});
  EXPECT_EQ(ban.Sample(logits), 1);
  // Sampled: a bias of ln 3 on one of two equal tokens makes it 3:1.
  Sampler odds({.temperature = 1.0f, .logit_bias = {{1, std::log(3.0f)}}, .seed = 8});
  EXPECT_NEAR(Shares(odds, {0.0f, 0.0f})[1], 0.75, 0.02);
}

TEST(Sampler, PresencePenaltyCountsATokenOnce) {
  // Greedy over logits 2.0, 1.5, 0: after 0 is used it scores 1.0 < 1.5, so 1 comes next; then
  // both are used (1.0 vs 0.5) and 0 wins for good, since presence does not grow with repeats.
  Sampler sampler({.temperature = 0.0f, .presence_penalty = 1.0f});
  std::vector<int32_t> out;
  for (int i = 0; i < 5; ++i) out.push_back(sampler.Sample(std::vector<float>{2.0f, 1.5f, 0.0f}));
  EXPECT_EQ(out, (std::vector<int32_t>{0, 1, 0, 0, 0}));
}

TEST(Sampler, FrequencyPenaltyGrowsWithEachUse) {
  // 2.0 - 0.6 c0 against 1.5 - 0.6 c1: 0 (1.4 < 1.5), 1 (1.4 > 0.9), 0 (0.8 < 0.9), 1, ...
  Sampler sampler({.temperature = 0.0f, .frequency_penalty = 0.6f});
  std::vector<int32_t> out;
  for (int i = 0; i < 6; ++i) out.push_back(sampler.Sample(std::vector<float>{2.0f, 1.5f, 0.0f}));
  EXPECT_EQ(out, (std::vector<int32_t>{0, 1, 0, 1, 0, 1}));
  // A negative penalty encourages repetition.
  Sampler repeat({.temperature = 0.0f, .presence_penalty = -2.0f});
  EXPECT_EQ(repeat.Sample(std::vector<float>{1.0f, 1.2f}), 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(repeat.Sample(std::vector<float>{3.0f, 1.2f}), 1);  // 1.2 + 2 > 3
}

TEST(Sampler, LogprobsArePreTemperatureAndPostBias) {
  std::vector<float> logits = Logs({0.5f, 0.3f, 0.2f});
  for (float temperature : {0.0f, 0.7f, 2.0f}) {
    Sampler sampler({.temperature = temperature, .seed = 2});
    SampledToken token = sampler.SampleWithLogprobs(logits, 2);
    EXPECT_NEAR(token.logprob, logits[token.id], 1e-5);
    ASSERT_EQ(token.top.size(), 2u);
    EXPECT_EQ(token.top[0].id, 0);
    EXPECT_NEAR(token.top[0].logprob, std::log(0.5), 1e-5);
    EXPECT_EQ(token.top[1].id, 1);
    EXPECT_NEAR(token.top[1].logprob, std::log(0.3), 1e-5);
  }
  // Bias moves the distribution the logprobs describe: ln 3 on token 1 of two equal ones.
  Sampler biased({.temperature = 0.0f, .logit_bias = {{1, std::log(3.0f)}}});
  SampledToken token = biased.SampleWithLogprobs(std::vector<float>{0.0f, 0.0f}, 0);
  EXPECT_EQ(token.id, 1);
  EXPECT_NEAR(token.logprob, std::log(0.75), 1e-5);
  EXPECT_TRUE(token.top.empty());
}

TEST(Sampler, LogprobsClampTiesAndLimits) {
  Sampler sampler({.temperature = 0.0f});
  // Ties: lowest id first. Hopeless tokens read -9999, never -inf.
  SampledToken token = sampler.SampleWithLogprobs(std::vector<float>{0.0f, -1e6f, 0.0f}, 50);
  EXPECT_EQ(token.id, 0);
  EXPECT_NEAR(token.logprob, std::log(0.5), 1e-5);
  ASSERT_EQ(token.top.size(), 3u);  // capped by the vocabulary
  EXPECT_EQ(token.top[0].id, 0);
  EXPECT_EQ(token.top[1].id, 2);
  EXPECT_EQ(token.top[2].id, 1);
  EXPECT_EQ(token.top[2].logprob, kMinLogprob);
}

TEST(Sampler, SameSeedSameTokensWithEveryFilter) {
  std::vector<float> logits(300);
  for (int i = 0; i < 300; ++i) logits[i] = std::cos(i * 0.11f) * 3;
  auto draw = [&](uint64_t seed) {
    Sampler sampler({.temperature = 0.8f, .top_p = 0.9f, .top_k = 40, .min_p = 0.05f, .presence_penalty = 0.5f,
                     .frequency_penalty = 0.3f, .logit_bias = {{7, 2.0f}}, .seed = seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(sampler.Sample(logits));
    return out;
  };
  EXPECT_EQ(draw(1), draw(1));
  EXPECT_NE(draw(1), draw(2));
}

TEST(Sampler, AdjustmentsForADrawElsewhereAreBiasThenPenalties) {
  Sampler sampler({.temperature = 0.0f, .presence_penalty = 0.5f, .frequency_penalty = 0.25f,
                   .logit_bias = {{2, 3.0f}, {5, -1.0f}}});
  std::vector<float> logits = {0, 0, 0, 0, 0, 0, 1, 0};  // greedy picks 2 (biased), then records
  EXPECT_EQ(sampler.Sample(logits), 2);
  sampler.Record(6);
  sampler.Record(6);
  std::vector<LogitAdjustment> got = sampler.Adjustments();
  std::sort(got.begin(), got.end(), [](const LogitAdjustment& a, const LogitAdjustment& b) { return a.id < b.id; });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, 2);  // biased and generated once: both, in one entry
  EXPECT_EQ(got[0].bias, 3.0f);
  EXPECT_EQ(got[0].penalty, 0.25f + 0.5f);
  EXPECT_EQ(got[1].id, 5);
  EXPECT_EQ(got[1].penalty, 0.0f);
  EXPECT_EQ(got[2].id, 6);  // generated twice
  EXPECT_EQ(got[2].bias, 0.0f);
  EXPECT_EQ(got[2].penalty, 2 * 0.25f + 0.5f);
  // Without penalties only the bias is left.
  Sampler plain({.logit_bias = {{1, 2.0f}}});
  plain.Record(3);
  ASSERT_EQ(plain.Adjustments().size(), 1u);
  EXPECT_EQ(plain.Adjustments()[0].id, 1);
}

TEST(Sampler, ValidatesRanges) {
  auto valid = [](SamplingParams params) { return ValidateSamplingParams(params, 100).ok(); };
  EXPECT_TRUE(valid({.temperature = 0.0f, .top_p = 1.0f}));
  EXPECT_TRUE(valid({.temperature = 2.0f, .top_p = 0.1f}));
  EXPECT_FALSE(valid({.temperature = -0.1f, .top_p = 1.0f}));
  EXPECT_FALSE(valid({.temperature = 2.5f, .top_p = 1.0f}));
  EXPECT_FALSE(valid({.temperature = NAN, .top_p = 1.0f}));
  EXPECT_FALSE(valid({.temperature = 1.0f, .top_p = 0.0f}));
  EXPECT_FALSE(valid({.temperature = 1.0f, .top_p = 1.5f}));
  EXPECT_TRUE(valid({.top_k = 5, .min_p = 1.0f, .presence_penalty = -2.0f, .frequency_penalty = 2.0f}));
  EXPECT_FALSE(valid({.top_k = -1}));
  EXPECT_FALSE(valid({.min_p = 1.5f}));
  EXPECT_FALSE(valid({.min_p = NAN}));
  EXPECT_FALSE(valid({.presence_penalty = 2.5f}));
  EXPECT_FALSE(valid({.frequency_penalty = -2.5f}));
  EXPECT_TRUE(valid({.logit_bias = {{0, -100.0f}, {99, 100.0f}}}));
  EXPECT_FALSE(valid({.logit_bias = {{100, 1.0f}}}));  // outside the vocabulary
  EXPECT_FALSE(valid({.logit_bias = {{-1, 1.0f}}}));
  EXPECT_FALSE(valid({.logit_bias = {{7, 1.0f}, {7, 2.0f}}}));  // one token twice
  EXPECT_FALSE(valid({.logit_bias = {{3, 101.0f}}}));
  // One entry over the limit, every id distinct and in the vocabulary: only the count is wrong.
  SamplingParams many;
  for (int i = 0; i <= static_cast<int>(kMaxLogitBias); ++i) many.logit_bias.push_back({i, 1.0f});
  const absl::Status too_many = ValidateSamplingParams(many, static_cast<int>(kMaxLogitBias) + 1);
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.message().find("more than"), std::string_view::npos) << too_many;
}

}  // namespace
}  // namespace cai::inference
