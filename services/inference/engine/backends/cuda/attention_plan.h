#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "services/inference/engine/backends/cuda/attention.h"  // kQueryTile

// How a forward step's tokens are split between the two attention kernels (attention.h): a token
// alone in its run (a decode) gets the paged kernel, one block per (token, head) with its warps
// spread over the keys; runs of consecutive positions of one sequence (a prefill chunk) are cut
// into query tiles for the tiled kernel, which reads each key block once per tile instead of once
// per query. Host code, tested without a GPU.
namespace cai::inference::cuda {

struct AttentionPlan {
  std::vector<int32_t> decode_tokens;  // token indices for the paged kernel
  std::vector<int32_t> tiles;          // (first token, count) pairs; count in 2..kQueryTile
};

// Refills `plan` for a step whose token t belongs to sequence seq_ids[t] at positions[t]. Every
// token lands in exactly one of the two lists. A run is a maximal stretch of tokens of one
// sequence at positions p, p + 1, ...; runs of one token are decodes.
void PlanAttention(std::span<const int32_t> seq_ids, std::span<const int32_t> positions, AttentionPlan& plan);

}  // namespace cai::inference::cuda
