#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/inference/forwarding_backend.h"

namespace cai::inference::testing {

// A backend that draws tokens itself, greedily, from the CPU engine's logits adjusted as each draw
// says, and logs every draw: the scheduler's side of device sampling (which rows draw, their
// adjustments and draw numbers, Accept) checked without a GPU.
class GreedyDrawingBackend final : public ForwardingBackend {
 public:
  explicit GreedyDrawingBackend(ForwardBackend& inner) : ForwardingBackend(inner) {}

  std::string device_name() const override { return "test"; }
  bool samples_on_device() const override { return true; }
  absl::Status ForwardBatchAndDraw(std::span<const BatchSequence> batch, std::span<const DeviceDraw* const> draws,
                                   std::span<float> logits, std::span<int32_t> tokens) override {
    const size_t vocab = static_cast<size_t>(config().vocab_size);
    std::vector<float> all(CountLogitRows(batch) * vocab);
    if (absl::Status s = inner_.ForwardBatch(batch, all); !s.ok()) return s;
    // A sequence draws from its last row; rows before it, and those of sequences that do not draw, come back.
    size_t row_end = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      row_end += static_cast<size_t>(batch[i].logit_rows);
      const size_t returned = draws[i] == nullptr ? row_end : row_end - 1;
      const size_t first = (row_end - static_cast<size_t>(batch[i].logit_rows)) * vocab;
      std::copy(all.begin() + static_cast<ptrdiff_t>(first), all.begin() + static_cast<ptrdiff_t>(returned * vocab),
                logits.begin() + static_cast<ptrdiff_t>(first));
      if (draws[i] == nullptr) continue;
      std::span<float> row = std::span(all).subspan((row_end - 1) * vocab, vocab);
      if (draws[i]->temperature != 0.0f) return absl::UnimplementedError("greedy draws only");
      for (const LogitAdjustment& a : draws[i]->adjustments) row[a.id] = (row[a.id] + a.bias) - a.penalty;
      tokens[i] = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      auto [it, fresh] = log_.emplace(std::pair{draws[i]->seed, draws[i]->step}, tokens[i]);
      EXPECT_TRUE(fresh || it->second == tokens[i]) << "draw " << draws[i]->step << " of seed " << draws[i]->seed;
    }
    return absl::OkStatus();
  }

  // The tokens drawn for `seed`, by draw number.
  std::vector<int32_t> Drawn(uint64_t seed) const {
    std::vector<int32_t> out;
    for (const auto& [key, token] : log_) {
      if (key.first == seed) out.push_back(token);
    }
    return out;
  }

 private:
  std::map<std::pair<uint64_t, uint64_t>, int32_t> log_;  // (seed, draw number) -> token
};

}  // namespace cai::inference::testing
