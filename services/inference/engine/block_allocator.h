#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cai::inference {

// Positions per KV block; the CUDA backend's paged layout uses the same size.
inline constexpr int64_t kKvBlockSize = 16;

// Blocks needed to hold `positions` positions.
inline int64_t KvBlocksFor(int64_t positions) { return (positions + kKvBlockSize - 1) / kKvBlockSize; }

// A fixed pool of KV block ids [0, num_blocks) handed out from a free list. A sequence's block
// table is the list of ids it holds, in position order. A block may be held by several tables
// (choices of one request sharing their prompt's blocks): it goes back to the pool when the last
// one frees it. Not thread-safe: the scheduler owns it.
class BlockAllocator {
 public:
  explicit BlockAllocator(int64_t num_blocks);

  int64_t num_blocks() const { return num_blocks_; }
  int64_t num_free() const { return static_cast<int64_t>(free_.size()); }

  // Appends `count` blocks to `table`; false (and `table` untouched) when fewer are free.
  bool Allocate(int64_t count, std::vector<int32_t>& table);
  // Appends the blocks of `shared` to `table`, which now holds them too.
  void Share(std::span<const int32_t> shared, std::vector<int32_t>& table);
  // Drops `table`'s hold on each of its blocks (a block no one holds returns to the pool) and
  // clears it.
  void Free(std::vector<int32_t>& table);

 private:
  const int64_t num_blocks_;
  std::vector<int32_t> free_;     // a stack: the most recently freed block is reused first
  std::vector<int32_t> holders_;  // per block: the tables holding it
};

}  // namespace cai::inference
