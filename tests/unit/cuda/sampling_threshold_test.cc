// The GPU sampler's filters (KeepThreshold, the code the sampling kernel runs) on the CPU, against a
// reference that sorts the vocabulary: min_p, then the k most likely, then the shortest most-likely
// prefix whose mass reaches top_p of what is left, as the CPU Sampler filters (vLLM's order). The
// GPU keeps every token tied with the last one kept; the rows here have distinct weights except
// where a test says otherwise, and weights that underflow to 0 (never drawn: they add no mass), so
// the random-row test compares the tokens that can be drawn.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "services/inference/engine/backends/cuda/sampling_threshold.h"

namespace cai::inference::cuda {
namespace {

// The kernel's weights: w = exp((l - max) / T) in float.
std::vector<float> Weights(const std::vector<float>& logits, float temperature) {
  const float max = *std::max_element(logits.begin(), logits.end());
  std::vector<float> w(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) w[i] = std::exp((logits[i] - max) * (1.0f / temperature));
  return w;
}

// Count and mass of the weights >= t, summed as a block of 1024 threads sums them (each thread a
// strided share, then a tree), all in float.
KeptStats BlockStats(const std::vector<float>& w, float t) {
  std::vector<float> count(1024, 0.0f), mass(1024, 0.0f);
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] >= t) count[i % 1024] += 1.0f, mass[i % 1024] += w[i];
  }
  for (int half = 512; half > 0; half /= 2) {
    for (int j = 0; j < half; ++j) count[j] += count[j + half], mass[j] += mass[j + half];
  }
  return KeptStats{count[0], mass[0]};
}

// Ids the GPU keeps: weight >= KeepThreshold, with the kernel's stats: over the whole row, or,
// once narrowed, over the weights >= the floor in id order when at most kMaxSampleCandidates of
// them (the kernel's shared-memory copy). Every pass after the narrowing must ask about a
// threshold at or above the floor, or the kernel's answer from its copy would be wrong.
std::vector<int> GpuKept(const std::vector<float>& w, const DeviceSamplingParams& p, int* passes_over_row = nullptr) {
  const int vocab = static_cast<int>(w.size());
  int passes = 0, row_passes = 0;
  std::optional<float> floor;
  std::vector<float> candidates;
  const float threshold = KeepThreshold(
      p, vocab,
      [&](float t) {
        ++passes;
        if (floor.has_value()) {
          EXPECT_GE(t, *floor) << "a pass below the floor after narrowing";
          if (candidates.size() <= static_cast<size_t>(kMaxSampleCandidates)) return BlockStats(candidates, t);
        }
        ++row_passes;
        return BlockStats(w, t);
      },
      [&](float f) {
        EXPECT_FALSE(floor.has_value()) << "narrowed twice";
        floor = f;
        for (float x : w) {
          if (x >= f) candidates.push_back(x);
        }
      });
  EXPECT_LE(passes, 2 * 31 + 1) << "a bisection over a float's bits takes at most 31 steps";
  if (passes_over_row != nullptr) *passes_over_row = row_passes;
  std::vector<int> kept;
  for (int i = 0; i < vocab; ++i) {
    if (w[i] >= threshold) kept.push_back(i);
  }
  return kept;
}

// The reference: a full sort, most likely first; min_p and top_k exactly, and top_p in double.
std::vector<int> SortedKept(const std::vector<float>& w, const DeviceSamplingParams& p) {
  std::vector<int> order;
  for (int i = 0; i < static_cast<int>(w.size()); ++i) {
    if (w[i] >= p.min_p) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) { return w[a] != w[b] ? w[a] > w[b] : a < b; });
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < order.size()) order.resize(p.top_k);
  if (p.top_p < 1.0f) {
    double total = 0;
    for (int id : order) total += w[id];
    double mass = 0;
    size_t keep = 0;
    while (keep < order.size() && mass < p.top_p * total) mass += w[order[keep++]];
    order.resize(std::max<size_t>(keep, 1));
  }
  std::sort(order.begin(), order.end());
  return order;
}

double Mass(const std::vector<int>& ids, const std::vector<float>& w) {
  double m = 0;
  for (int id : ids) m += w[id];
  return m;
}

std::vector<float> RandomLogits(int vocab, float spread, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> logits(vocab);
  for (float& l : logits) l = normal(rng);
  return logits;
}

std::vector<int> Drawable(std::vector<int> ids, const std::vector<float>& w) {
  std::erase_if(ids, [&](int id) { return w[id] == 0.0f; });
  return ids;
}

std::string Describe(const DeviceSamplingParams& p, int vocab, float spread) {
  return "vocab " + std::to_string(vocab) + " spread " + std::to_string(spread) + " T " +
         std::to_string(p.temperature) + " top_k " + std::to_string(p.top_k) + " top_p " + std::to_string(p.top_p) +
         " min_p " + std::to_string(p.min_p);
}

TEST(SamplingThreshold, EqualsAFullSortOnRandomRows) {
  int cases = 0, near_ties = 0;
  for (int vocab : {7, 1000, 32000}) {
    for (float spread : {0.5f, 3.0f, 12.0f}) {  // flat to peaked
      const std::vector<float> logits = RandomLogits(vocab, spread, static_cast<uint32_t>(vocab + spread * 10));
      for (float temperature : {0.3f, 1.0f, 1.7f}) {
        const std::vector<float> w = Weights(logits, temperature);
        for (int top_k : {0, 1, 5, 50, vocab - 1, vocab}) {
          for (float top_p : {1.0f, 0.95f, 0.5f, 0.05f}) {
            for (float min_p : {0.0f, 0.01f, 0.3f}) {
              const DeviceSamplingParams p{.temperature = temperature, .top_k = top_k, .top_p = top_p, .min_p = min_p};
              const std::vector<int> gpu = Drawable(GpuKept(w, p), w), want = Drawable(SortedKept(w, p), w);
              if (top_p == 1.0f || gpu == want) {
                ASSERT_EQ(gpu, want) << Describe(p, vocab, spread);
              } else {
                // The masses are float sums on the GPU: where the nucleus boundary falls within
                // their rounding (flat rows of 32k tokens), the GPU may keep a few tokens more or
                // fewer. Both must be nuclei to within 1e-5 of the mass before top_p.
                DeviceSamplingParams unfiltered = p;
                unfiltered.top_p = 1.0f;
                const double before = Mass(Drawable(SortedKept(w, unfiltered), w), w);
                const double lightest = w[*std::min_element(gpu.begin(), gpu.end(), [&](int a, int b) {
                  return w[a] < w[b];
                })];
                EXPECT_GE(Mass(gpu, w), top_p * before * (1 - 1e-5)) << Describe(p, vocab, spread);
                EXPECT_LT(Mass(gpu, w) - lightest, top_p * before * (1 + 1e-5)) << Describe(p, vocab, spread);
                EXPECT_LE(std::max(gpu.size(), want.size()) - std::min(gpu.size(), want.size()), 8u)
                    << Describe(p, vocab, spread);
                ++near_ties;
              }
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 3 * 3 * 6 * 4 * 3);
  EXPECT_LE(near_ties, cases / 20) << "the float masses should settle almost every case exactly";
}

TEST(SamplingThreshold, EachFilterAlone) {
  // Weights 1, 1/2, 1/4, ... 1/2^9 (ids 0..9) and ten tokens that -inf logits leave at weight 0.
  std::vector<float> w;
  for (int i = 0; i < 10; ++i) w.push_back(std::ldexp(1.0f, -i));
  w.insert(w.end(), 10, 0.0f);
  auto ids = [](int n) {
    std::vector<int> v(n);
    std::iota(v.begin(), v.end(), 0);
    return v;
  };
  EXPECT_EQ(GpuKept(w, {}), ids(20));                       // no filter: all (weight 0 is never drawn)
  EXPECT_EQ(GpuKept(w, {.top_k = 3}), ids(3));
  EXPECT_EQ(GpuKept(w, {.top_k = 1}), ids(1));
  EXPECT_EQ(GpuKept(w, {.min_p = 0.2f}), ids(3));           // 1, 0.5, 0.25
  EXPECT_EQ(GpuKept(w, {.min_p = 1.0f}), ids(1));           // only the most likely
  EXPECT_EQ(GpuKept(w, {.top_p = 0.5f}), ids(1));           // 1 >= 0.5 * 1.998
  EXPECT_EQ(GpuKept(w, {.top_p = 0.6f}), ids(2));
  EXPECT_EQ(GpuKept(w, {.top_p = 1e-6f}), ids(1));          // at least the most likely
  EXPECT_EQ(GpuKept(w, {.top_k = 4, .top_p = 0.9f}), ids(3));  // 0.9 * 1.875 = 1.6875 <= 1.75
  // A mass that reaches top_p exactly is enough (0.5 * 2 = 1 = the first weight, all exact).
  EXPECT_EQ(GpuKept({1.0f, 0.5f, 0.25f, 0.25f}, {.top_p = 0.5f}), ids(1));
}

// A peaked row of 128k tokens (a chat model at temperature 0.6): top_p's passes run over the few
// weights above the floor, not over the row; a flat row has too many and keeps the row passes,
// with the same result either way.
TEST(SamplingThreshold, TopPPassesRunOverTheFewWeightsAboveTheFloor) {
  const std::vector<float> peaked = Weights(RandomLogits(128256, 3.0f, 5), 0.6f);
  const DeviceSamplingParams p{.temperature = 0.6f, .top_p = 0.9f};
  int row_passes = 0;
  const std::vector<int> kept = GpuKept(peaked, p, &row_passes);
  EXPECT_EQ(row_passes, 1) << "only the mass before top_p reads the whole row";
  EXPECT_EQ(Drawable(kept, peaked), Drawable(SortedKept(peaked, p), peaked));
  const std::vector<float> flat = Weights(RandomLogits(128256, 0.1f, 6), 1.0f);
  const std::vector<int> flat_kept = GpuKept(flat, p, &row_passes);
  EXPECT_GT(row_passes, 20) << "more than kMaxSampleCandidates weights above the floor: row passes";
  const double before = Mass(Drawable(SortedKept(flat, {.top_p = 1.0f}), flat), flat);
  EXPECT_GE(Mass(flat_kept, flat), 0.9 * before * (1 - 1e-5));
}

// The floor's bound, pinned: the most likely token and a flat tail of 999 tokens whose mass is just
// above what the nucleus needs besides it, each tail token a little over twice the floor. A floor
// of even 1.1 times (1 - top_p) mass / count (the bound without its halving, which is margin for
// float sums no such test can pin) cuts the tail and keeps too little.
TEST(SamplingThreshold, FloorKeepsTheTailANucleusNeeds) {
  for (float top_p : {0.5f, 0.9f}) {
    const int vocab = 1000;
    const float tail_mass = 1.01f * (1.0f - top_p) / top_p;  // 1 + tail_mass reaches top_p only with it all
    std::vector<float> w(vocab, tail_mass / (vocab - 1));
    w[0] = 1.0f;
    EXPECT_EQ(GpuKept(w, {.top_p = top_p}).size(), static_cast<size_t>(vocab)) << "top_p " << top_p;
  }
}

TEST(SamplingThreshold, TiesAtTheBoundaryAreAllKept) {
  // Where the CPU Sampler keeps exactly k (lowest ids first), the GPU keeps every token whose
  // weight equals the k-th: a threshold cannot split equal weights.
  const std::vector<float> w = {1.0f, 0.5f, 0.5f, 0.5f, 0.25f};
  EXPECT_EQ(GpuKept(w, {.top_k = 2}), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(GpuKept(w, {.top_p = 0.45f}), (std::vector<int>{0, 1, 2, 3}));  // 0.45 * 2.75 > 1
  EXPECT_EQ(GpuKept(w, {.top_k = 4}), (std::vector<int>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace cai::inference::cuda
