#pragma once

#include <cstdint>
#include <vector>

namespace cai::inference {

// The keys and values one sequence has seen, per layer, laid out [position][kv_heads * head_dim].
// Grows on demand, so a long context costs memory only when it is used. Sliding-window layers
// keep every position too (they read only the last W); trimming them is left for later.
struct KvCache {
  KvCache(int num_layers, int kv_dim) : kv_dim(kv_dim), k(num_layers), v(num_layers) {}

  void Reserve(int64_t positions) {
    if (positions <= capacity) return;
    int64_t grown = capacity == 0 ? 64 : capacity;
    while (grown < positions) grown *= 2;
    for (auto& layer : k) layer.resize(static_cast<size_t>(grown * kv_dim));
    for (auto& layer : v) layer.resize(static_cast<size_t>(grown * kv_dim));
    capacity = grown;
  }

  int64_t kv_dim;
  int64_t length = 0;  // positions filled
  int64_t capacity = 0;
  std::vector<std::vector<float>> k, v;
};

}  // namespace cai::inference
