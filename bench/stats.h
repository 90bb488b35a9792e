#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace cai::bench {

// Percentile of a sample of latencies (any unit), nearest-rank.
inline double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(p / 100.0 * (samples.size() - 1) + 0.5);
  return samples[std::min(rank, samples.size() - 1)];
}

// Median microseconds of `fn(i)` over runs i = 0 .. runs - 1.
template <typename Fn>
double MedianMicros(int runs, Fn&& fn) {
  std::vector<double> us;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn(i);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  return Percentile(us, 50);
}

}  // namespace cai::bench
