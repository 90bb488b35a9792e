#include "services/inference/engine/tokenizer/bpe.h"

#include <functional>
#include <queue>
#include <tuple>

namespace cai::inference {

void BpeMerges::Apply(std::vector<int32_t>* symbols) const {
  std::vector<int32_t>& id = *symbols;
  const int n = static_cast<int>(id.size());
  if (n < 2) return;
  // A doubly linked list over the positions; a merged pair lives on at its left position.
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // (rank, left position, left id, right id); stale entries are skipped when popped.
  using Candidate = std::tuple<int32_t, int, int32_t, int32_t>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    if (const Merge* m = Find(id[left], id[next[left]])) {
      queue.emplace(m->rank, left, id[left], id[next[left]]);
    }
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);

  std::vector<bool> alive(n, true);
  while (!queue.empty()) {
    auto [rank, left, left_id, right_id] = queue.top();
    queue.pop();
    int right = next[left];
    if (!alive[left] || right < 0 || id[left] != left_id || id[right] != right_id) continue;
    id[left] = Find(left_id, right_id)->merged;
    alive[right] = false;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    consider(prev[left]);
    consider(left);
  }
  int out = 0;
  for (int i = 0; i >= 0; i = next[i]) id[out++] = id[i];
  id.resize(out);
}

}  // namespace cai::inference
