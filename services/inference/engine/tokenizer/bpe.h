#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace cai::inference {

// The merge table of a BPE model: (left id, right id) -> (rank, merged id).
class BpeMerges {
 public:
  // A later duplicate of a pair replaces the earlier one, as in Hugging Face `tokenizers`.
  void Add(int32_t left, int32_t right, int32_t merged) {
    table_[Key(left, right)] = Merge{static_cast<int32_t>(size_++), merged};
  }
  size_t size() const { return size_; }

  // Merges `symbols` in place: repeatedly the pair of lowest rank, the leftmost first, until no
  // adjacent pair has a merge. O(n log n) in the number of symbols.
  void Apply(std::vector<int32_t>* symbols) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t Key(int32_t left, int32_t right) {
    return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
  }
  const Merge* Find(int32_t left, int32_t right) const {
    auto it = table_.find(Key(left, right));
    return it == table_.end() ? nullptr : &it->second;
  }

  absl::flat_hash_map<uint64_t, Merge> table_;
  size_t size_ = 0;
};

}  // namespace cai::inference
