#pragma once

#include <chrono>
#include <cstdint>

#include "services/inference/engine/scheduler.h"

namespace cai::bench {

// Steps `scheduler` until it has no work left; returns the tokens generated per second over the
// steps that only decoded (one token per sequence), so prefill steps do not count.
inline double DecodeThroughput(cai::inference::Scheduler& scheduler) {
  using Clock = std::chrono::steady_clock;
  double decode_seconds = 0;
  int64_t decoded = 0;
  while (scheduler.HasWork()) {
    const auto start = Clock::now();
    const cai::inference::StepRecord record = scheduler.Step();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    bool decode_only = !record.chunks.empty();
    for (const cai::inference::ScheduledChunk& chunk : record.chunks) decode_only &= chunk.tokens == 1;
    if (decode_only) {
      decode_seconds += seconds;
      decoded += static_cast<int64_t>(record.chunks.size());
    }
  }
  return decode_seconds > 0 ? static_cast<double>(decoded) / decode_seconds : 0;
}

}  // namespace cai::bench
