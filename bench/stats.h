#pragma once

#include <algorithm>
#include <vector>

namespace cai::bench {

// Percentile of a sample of latencies (any unit), nearest-rank.
inline double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(p / 100.0 * (samples.size() - 1) + 0.5);
  return samples[std::min(rank, samples.size() - 1)];
}

}  // namespace cai::bench
