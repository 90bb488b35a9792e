#include "services/inference/engine/backends/cuda/attention_plan.h"

#include <algorithm>

namespace cai::inference::cuda {

void PlanAttention(std::span<const int32_t> seq_ids, std::span<const int32_t> positions, AttentionPlan& plan) {
  plan.decode_tokens.clear();
  plan.tiles.clear();
  const size_t n = std::min(seq_ids.size(), positions.size());
  for (size_t begin = 0; begin < n;) {
    size_t end = begin + 1;
    while (end < n && seq_ids[end] == seq_ids[begin] && positions[end] == positions[end - 1] + 1) ++end;
    if (end - begin == 1) {
      plan.decode_tokens.push_back(static_cast<int32_t>(begin));
    } else {
      for (size_t first = begin; first < end; first += kQueryTile) {
        const size_t count = std::min<size_t>(kQueryTile, end - first);
        if (count == 1) {
          plan.decode_tokens.push_back(static_cast<int32_t>(first));  // a run's last token alone
          continue;
        }
        plan.tiles.push_back(static_cast<int32_t>(first));
        plan.tiles.push_back(static_cast<int32_t>(count));
      }
    }
    begin = end;
  }
}

}  // namespace cai::inference::cuda
