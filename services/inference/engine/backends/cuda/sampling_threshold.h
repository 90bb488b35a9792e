#pragma once

// The GPU sampler's filters, written once for the sampling kernel (sampling.cu) and for host tests,
// which run the same bisections on the CPU (tests/unit/cuda/sampling_threshold_test.cc).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "services/inference/engine/backends/cuda/sampling.h"

#ifdef __CUDACC__
#define CAI_HOST_DEVICE __host__ __device__
#else
#define CAI_HOST_DEVICE
#endif

namespace cai::inference::cuda {

// Weights at or above the top-p floor the kernel gathers into shared memory (32 KiB); a row with
// more (a flat distribution) keeps its passes over the whole row.
inline constexpr int kMaxSampleCandidates = 8192;

// Count and mass of a row's weights at or above a threshold.
struct KeptStats {
  float count = 0.0f;
  float mass = 0.0f;
};

// The same bits as another type of the same size, on the host and the device alike (memcpy of a
// register-sized value compiles to a move); non-negative floats order like their bits.
template <typename To, typename From>
CAI_HOST_DEVICE inline To BitCast(From from) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To to;
  memcpy(&to, &from, sizeof to);
  return to;
}

// The weights are w = exp((l - max) / T), in [0, 1] with the most likely token at 1, and every
// filter keeps the tokens whose weight is at least a threshold, which each filter raises:
//   min_p: min_p itself (p >= min_p * p_max  <=>  w >= min_p);
//   top_k: the largest threshold that still keeps k (ties at the k-th weight are all kept);
//   top_p: the largest threshold whose kept mass still reaches top_p of what the others kept.
// Top-k and top-p bisect the threshold's bits (non-negative floats order like their bits), about 30
// passes of `stats` each, so no sort is needed. `stats(t)` returns KeptStats of w >= t over the row;
// on the device it is a block-wide reduction that every thread of the block calls alike.
//
// Before the top-p bisection, `narrow(floor)` is called once with a weight the top-p threshold
// cannot be below: the kept weights under it hold less than half of the mass top_p leaves out, so
// cutting there still keeps more than top_p of it. Every later `stats(t)` has t > floor, so the
// caller may answer from the weights >= floor alone (the kernel gathers them into shared memory,
// where the ~30 passes are cheap; for a peaked row they are a few hundred of a vocabulary of 128k).
// Up to float rounding: the mass before top_p and the masses after narrowing are sums in different
// orders, and where they round against the bound (top_p within ~1e-7 of 1) the result is the floor
// itself, which keeps more than the exact nucleus by less than (1 - top_p) / 2 of the mass.
template <typename Stats, typename Narrow>
CAI_HOST_DEVICE float KeepThreshold(const DeviceSamplingParams& p, int vocab, const Stats& stats, const Narrow& narrow) {
  constexpr uint32_t kOneBits = 0x3f800000u;  // 1.0f, the largest weight
  float threshold = p.min_p > 0.0f ? p.min_p : 0.0f;
  if (p.top_k > 0 && p.top_k < vocab) {
    uint32_t lo = 0, hi = kOneBits + 1;  // count(w >= lo) >= k: every weight is >= 0
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (stats(BitCast<float>(mid)).count >= static_cast<float>(p.top_k)) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    threshold = fmaxf(threshold, BitCast<float>(lo));
  }
  if (p.top_p < 1.0f) {
    const KeptStats kept = stats(threshold);
    const float target = p.top_p * kept.mass;
    // Below `floor` lie fewer than kept.count kept weights, each under it: less than
    // 0.5 (1 - top_p) of the mass together, so mass(w >= floor) > (0.5 + 0.5 top_p) mass >= target
    // (the half is margin for the float sums). At most 1, the largest weight, whatever the inputs.
    const float floor =
        fminf(1.0f, fmaxf(threshold, 0.5f * (1.0f - p.top_p) * kept.mass / fmaxf(kept.count, 1.0f)));
    narrow(floor);
    uint32_t lo = BitCast<uint32_t>(floor), hi = kOneBits + 1;  // mass(w >= lo) >= target
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (stats(BitCast<float>(mid)).mass >= target) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    threshold = BitCast<float>(lo);
  }
  return threshold;
}

}  // namespace cai::inference::cuda
