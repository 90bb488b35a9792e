#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "services/inference/engine/batch_sequence.h"
#include "services/inference/engine/block_allocator.h"  // kKvBlockSize, KvBlocksFor

namespace cai::inference {

// A step's sequences in the flat form a device kernel reads: token t of the step belongs to
// sequence seq_ids[t] at positions[t]; sequence s's block table is row s of block_tables, padded
// to blocks_per_seq entries with block 0 (never read: a token reads blocks up to its position);
// logit_tokens lists the indices of the tokens whose logits are wanted: each sequence's last
// logit_rows tokens, in order (one per sequence, its last, unless a prompt is scored).
struct FlatBatch {
  std::vector<int32_t> tokens, positions, seq_ids, block_tables, logit_tokens;
};

// Refills `out` (reusing its memory) from `batch`. InvalidArgument for an empty batch or
// sequence, or a block table that does not cover a sequence's positions; OutOfRange when a
// sequence needs more than `blocks_per_seq` blocks.
absl::Status FlattenBatch(std::span<const BatchSequence> batch, int blocks_per_seq, FlatBatch& out);

}  // namespace cai::inference
