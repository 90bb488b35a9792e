#include "services/inference/engine/sampler.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

namespace cai::inference {
namespace {

TEST(Sampler, GreedyPicksArgmax) {
  Sampler sampler({.temperature = 0.0f, .top_p = 1.0f, .seed = 1});
  std::vector<float> logits = {0.1f, 3.0f, -1.0f, 2.9f};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sampler.Sample(logits), 1);
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

TEST(Sampler, ValidatesRanges) {
  EXPECT_TRUE(ValidateSamplingParams({.temperature = 0.0f, .top_p = 1.0f}).ok());
  EXPECT_TRUE(ValidateSamplingParams({.temperature = 2.0f, .top_p = 0.1f}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.temperature = -0.1f, .top_p = 1.0f}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.temperature = 2.5f, .top_p = 1.0f}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.temperature = NAN, .top_p = 1.0f}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.temperature = 1.0f, .top_p = 0.0f}).ok());
  EXPECT_FALSE(ValidateSamplingParams({.temperature = 1.0f, .top_p = 1.5f}).ok());
}

}  // namespace
}  // namespace cai::inference
