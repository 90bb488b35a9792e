#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "services/inference/engine/block_allocator.h"  // kKvBlockSize

namespace cai::inference {

// Keys and values of many sequences in one fixed pool of blocks, per layer laid out
// [num_blocks][kKvBlockSize][kv_heads * head_dim] (F32). A sequence addresses its positions
// through its block table: position p lives in block table[p / kKvBlockSize], row p % kKvBlockSize.
// Which sequence holds which block is the scheduler's business (BlockAllocator).
// The pool is allocated up front but left untouched, so pages the OS never commits cost nothing.
class PagedKvCache {
 public:
  PagedKvCache(int num_layers, int64_t kv_dim, int64_t num_blocks)
      : kv_dim_(kv_dim), num_blocks_(num_blocks) {
    const size_t floats = static_cast<size_t>(num_blocks * kKvBlockSize * kv_dim);
    for (int l = 0; l < num_layers; ++l) {
      k_.emplace_back(new float[floats]);
      v_.emplace_back(new float[floats]);
    }
  }

  // Bytes one block takes over all layers, keys and values.
  static int64_t BlockBytes(int num_layers, int64_t kv_dim) {
    return 2 * int64_t{num_layers} * kKvBlockSize * kv_dim * static_cast<int64_t>(sizeof(float));
  }

  int num_layers() const { return static_cast<int>(k_.size()); }
  int64_t kv_dim() const { return kv_dim_; }
  float* k(int layer) const { return k_[layer].get(); }
  float* v(int layer) const { return v_[layer].get(); }
  int64_t num_blocks() const { return num_blocks_; }

 private:
  const int64_t kv_dim_;
  const int64_t num_blocks_;
  std::vector<std::unique_ptr<float[]>> k_, v_;
};

}  // namespace cai::inference
