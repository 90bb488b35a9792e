// Host sampling cost per token at a Llama 3 vocabulary (128256), by parameters, against two
// references measured in the same run: one pass over the logits (std::max_element, the floor of
// any sampler) and a full sort of the vocabulary (what a nucleus costs when sorted naively).
// The scheduler samples every sequence of a step on the host, so this bounds the steps per second
// of a large batch.
//
//   build/bin/cai-bench-sampler [--vocab 128256] [--draws 200]
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/stats.h"
#include "services/inference/engine/sampler.h"

ABSL_FLAG(int, vocab, 128256, "vocabulary size");
ABSL_FLAG(int, draws, 200, "tokens sampled per configuration");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int vocab = absl::GetFlag(FLAGS_vocab), draws = absl::GetFlag(FLAGS_draws);
  std::printf("command: cai-bench-sampler --vocab %d --draws %d\n", vocab, draws);
  // Logits shaped like a language model's: most of the mass on a few hundred tokens.
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 2.5f);
  std::vector<float> logits(static_cast<size_t>(vocab));
  for (float& x : logits) x = normal(gen);

  volatile float sink = 0;
  const double pass = cai::bench::MedianMicros(draws, [&](int) { sink = *std::max_element(logits.begin(), logits.end()); });
  std::vector<int32_t> order(logits.size());
  const double full_sort = cai::bench::MedianMicros(std::max(5, draws / 20), [&](int) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  });
  std::printf("reference: one pass over the logits %.1f us; full sort of the vocabulary %.1f us\n", pass, full_sort);

  struct Config {
    const char* name;
    cai::inference::SamplingParams params;
  };
  const Config configs[] = {
      {"greedy", {.temperature = 0.0f}},
      {"temperature 1", {.temperature = 1.0f}},
      {"temperature 0.6, top_p 0.9 (Llama 3.1 defaults)", {.temperature = 0.6f, .top_p = 0.9f}},
      {"temperature 1, top_p 0.95, top_k 64", {.temperature = 1.0f, .top_p = 0.95f, .top_k = 64}},
      {"temperature 1, top_p 0.999", {.temperature = 1.0f, .top_p = 0.999f}},
  };
  for (const Config& c : configs) {
    cai::inference::Sampler sampler(c.params);
    const double us = cai::bench::MedianMicros(draws, [&](int) { sink = static_cast<float>(sampler.Sample(logits)); });
    std::printf("%-52s %8.1f us/token = %5.1fx a pass, %5.2fx a full sort\n", c.name, us, us / pass, us / full_sort);
  }
  return 0;
}
