#include "services/inference/engine/flat_batch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace cai::inference {

absl::Status FlattenBatch(std::span<const BatchSequence> batch, int blocks_per_seq, FlatBatch& out) {
  if (batch.empty()) return absl::InvalidArgumentError("forward: empty batch");
  if (blocks_per_seq < 1) return absl::InvalidArgumentError("forward: no blocks per sequence");
  if (absl::StatusOr<size_t> rows = CheckedLogitRows(batch); !rows.ok()) return rows.status();
  out.tokens.clear();
  out.positions.clear();
  out.seq_ids.clear();
  out.logit_tokens.clear();
  out.block_tables.assign(batch.size() * static_cast<size_t>(blocks_per_seq), 0);
  for (size_t s = 0; s < batch.size(); ++s) {
    const BatchSequence& seq = batch[s];
    if (seq.tokens.empty()) return absl::InvalidArgumentError(absl::StrCat("forward: sequence ", s, " has no tokens"));
    if (seq.start < 0) return absl::InvalidArgumentError("forward: negative start position");
    const int64_t end = seq.start + static_cast<int64_t>(seq.tokens.size());
    const int64_t needed = KvBlocksFor(end);
    if (needed > blocks_per_seq) {
      return absl::OutOfRangeError(absl::StrCat("forward: ", end, " positions exceed the device's ",
                                                int64_t{blocks_per_seq} * kKvBlockSize, " per sequence"));
    }
    if (static_cast<int64_t>(seq.block_table.size()) < needed) {
      return absl::InvalidArgumentError("forward: the block table does not cover the sequence");
    }
    std::copy_n(seq.block_table.begin(), needed, out.block_tables.begin() + static_cast<ptrdiff_t>(s * blocks_per_seq));
    for (size_t i = 0; i < seq.tokens.size(); ++i) {
      out.tokens.push_back(seq.tokens[i]);
      out.positions.push_back(static_cast<int32_t>(seq.start + static_cast<int64_t>(i)));
      out.seq_ids.push_back(static_cast<int32_t>(s));
    }
    for (int32_t r = seq.logit_rows; r > 0; --r) out.logit_tokens.push_back(static_cast<int32_t>(out.tokens.size()) - r);
  }
  return absl::OkStatus();
}

}  // namespace cai::inference
