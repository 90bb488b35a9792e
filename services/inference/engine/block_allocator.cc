#include "services/inference/engine/block_allocator.h"

namespace cai::inference {

BlockAllocator::BlockAllocator(int64_t num_blocks)
    : num_blocks_(num_blocks), holders_(static_cast<size_t>(num_blocks > 0 ? num_blocks : 0), 0) {
  free_.reserve(static_cast<size_t>(num_blocks));
  for (int64_t b = num_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

bool BlockAllocator::Allocate(int64_t count, std::vector<int32_t>& table) {
  if (count > num_free()) return false;
  for (int64_t i = 0; i < count; ++i) {
    table.push_back(free_.back());
    holders_[free_.back()] = 1;
    free_.pop_back();
  }
  return true;
}

void BlockAllocator::Share(std::span<const int32_t> shared, std::vector<int32_t>& table) {
  for (int32_t block : shared) {
    ++holders_[block];
    table.push_back(block);
  }
}

void BlockAllocator::Free(std::vector<int32_t>& table) {
  for (auto it = table.rbegin(); it != table.rend(); ++it) {
    if (--holders_[*it] == 0) free_.push_back(*it);
  }
  table.clear();
}

}  // namespace cai::inference
