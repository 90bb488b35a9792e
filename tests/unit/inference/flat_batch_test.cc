// FlattenBatch: the step layout a device backend reads (CudaBackend), checked without a GPU.
#include "services/inference/engine/flat_batch.h"

#include <gtest/gtest.h>

#include <vector>

namespace cai::inference {
namespace {

TEST(FlattenBatch, PrefillChunkAndDecodesLaidOutFlat) {
  const std::vector<int32_t> prefill = {5, 6, 7}, decode = {9};
  const std::vector<int32_t> prefill_table = {4, 2}, decode_table = {7, 1, 3};
  // Sequence 0 prefills positions 14..16 (two blocks); sequence 1 decodes position 40 (block 2).
  const std::vector<BatchSequence> batch = {{prefill, 14, prefill_table}, {decode, 40, decode_table}};
  FlatBatch flat;
  ASSERT_TRUE(FlattenBatch(batch, 4, flat).ok());
  EXPECT_EQ(flat.tokens, (std::vector<int32_t>{5, 6, 7, 9}));
  EXPECT_EQ(flat.positions, (std::vector<int32_t>{14, 15, 16, 40}));
  EXPECT_EQ(flat.seq_ids, (std::vector<int32_t>{0, 0, 0, 1}));
  EXPECT_EQ(flat.block_tables, (std::vector<int32_t>{4, 2, 0, 0, 7, 1, 3, 0}));
  EXPECT_EQ(flat.logit_tokens, (std::vector<int32_t>{2, 3}));

  // Reused for a smaller step: nothing of the previous one is left.
  const std::vector<BatchSequence> next = {{decode, 41, decode_table}};
  ASSERT_TRUE(FlattenBatch(next, 4, flat).ok());
  EXPECT_EQ(flat.tokens, (std::vector<int32_t>{9}));
  EXPECT_EQ(flat.positions, (std::vector<int32_t>{41}));
  EXPECT_EQ(flat.block_tables, (std::vector<int32_t>{7, 1, 3, 0}));
  EXPECT_EQ(flat.logit_tokens, (std::vector<int32_t>{0}));
}

// A scored prompt asks for the logits of its chunk's last rows: their indices, in order, before
// the next sequence's.
TEST(FlattenBatch, SeveralLogitRowsOfASequence) {
  const std::vector<int32_t> prefill = {5, 6, 7, 8}, decode = {9};
  const std::vector<int32_t> table = {4}, decode_table = {7, 1, 3};
  const std::vector<BatchSequence> batch = {{prefill, 0, table, 3}, {decode, 40, decode_table}};
  FlatBatch flat;
  ASSERT_TRUE(FlattenBatch(batch, 4, flat).ok());
  EXPECT_EQ(flat.logit_tokens, (std::vector<int32_t>{1, 2, 3, 4}));
}

TEST(FlattenBatch, Refuses) {
  const std::vector<int32_t> one = {1}, none = {};
  const std::vector<int32_t> table = {0, 1};
  FlatBatch flat;
  struct Case {
    const char* name;
    std::vector<BatchSequence> batch;
    int blocks_per_seq;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"empty batch", {}, 4, absl::StatusCode::kInvalidArgument},
      {"no blocks per sequence", {{one, 0, table}}, 0, absl::StatusCode::kInvalidArgument},
      {"sequence without tokens", {{none, 0, table}}, 4, absl::StatusCode::kInvalidArgument},
      {"negative start", {{one, -1, table}}, 4, absl::StatusCode::kInvalidArgument},
      {"table does not cover position 32", {{one, 32, table}}, 4, absl::StatusCode::kInvalidArgument},
      {"beyond the device's blocks per sequence", {{one, 64, table}}, 4, absl::StatusCode::kOutOfRange},
      {"no logit row", {{one, 0, table, 0}}, 4, absl::StatusCode::kInvalidArgument},
      {"more logit rows than tokens", {{one, 0, table, 2}}, 4, absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FlattenBatch(c.batch, c.blocks_per_seq, flat).code(), c.code) << c.name;
  }
}

}  // namespace
}  // namespace cai::inference
