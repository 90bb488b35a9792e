// PlanAttention: which tokens of a step go to the paged (decode) kernel and which to the tiled
// (prefill) kernel. Host code: runs without a GPU.
#include "services/inference/engine/backends/cuda/attention_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace cai::inference::cuda {
namespace {

TEST(AttentionPlan, DecodesAloneAndPrefillRunsInTiles) {
  // Seq 0 decodes at 40; seq 1 prefills 35 positions 3..37 (tiles 16, 16, 3); seq 2 decodes at 7;
  // seq 3 prefills 17 positions (16, then its last token alone, as a decode).
  std::vector<int32_t> seq_ids = {0}, positions = {40};
  for (int p = 3; p < 38; ++p) seq_ids.push_back(1), positions.push_back(p);
  seq_ids.push_back(2), positions.push_back(7);
  for (int p = 0; p < 17; ++p) seq_ids.push_back(3), positions.push_back(p);
  AttentionPlan plan;
  PlanAttention(seq_ids, positions, plan);
  EXPECT_EQ(plan.decode_tokens, (std::vector<int32_t>{0, 36, 53}));
  EXPECT_EQ(plan.tiles, (std::vector<int32_t>{1, 16, 17, 16, 33, 3, 37, 16}));

  // Every token exactly once.
  std::vector<int32_t> covered = plan.decode_tokens;
  for (size_t i = 0; i < plan.tiles.size(); i += 2) {
    for (int32_t t = plan.tiles[i]; t < plan.tiles[i] + plan.tiles[i + 1]; ++t) covered.push_back(t);
  }
  std::sort(covered.begin(), covered.end());
  std::vector<int32_t> all(seq_ids.size());
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(covered, all);
}

TEST(AttentionPlan, RunsBreakAtSequenceAndPositionChanges) {
  AttentionPlan plan;
  // Same sequence but a position gap, then a new sequence at the next position: three runs.
  PlanAttention(std::vector<int32_t>{0, 0, 0, 0, 1, 1}, std::vector<int32_t>{4, 5, 9, 10, 11, 12}, plan);
  EXPECT_TRUE(plan.decode_tokens.empty());
  EXPECT_EQ(plan.tiles, (std::vector<int32_t>{0, 2, 2, 2, 4, 2}));
  // Decodes only (a decode step): the identity, which the CUDA graphs rely on.
  PlanAttention(std::vector<int32_t>{0, 1, 2}, std::vector<int32_t>{9, 9, 3}, plan);
  EXPECT_EQ(plan.decode_tokens, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_TRUE(plan.tiles.empty());
  PlanAttention({}, {}, plan);  // and the lists are refilled, not appended to
  EXPECT_TRUE(plan.decode_tokens.empty() && plan.tiles.empty());
}

}  // namespace
}  // namespace cai::inference::cuda
