#pragma once

// Test helpers for driving a Scheduler to the end (the CPU scheduler tests and the CUDA backend's).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/inference/engine/scheduler.h"

namespace cai::inference::testing {

// Greedy, with logprobs so that the deltas carry the token ids even without a tokenizer.
inline GenerationRequest GreedyRequest(std::vector<int32_t> prompt, int max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.logprobs = true;
  return r;
}

// What choice 0 of a request delivered: the ids its deltas carried (with logprobs), its text, and
// its prompt's scores (prompt_logprobs), with whether any score came after a token or text.
struct Drained {
  std::vector<int32_t> tokens;
  std::string text;
  std::vector<SampledToken> prompt;
  bool score_after_token = false;
};

// Steps `scheduler` until every request of `ids` has its result (at most 10000 steps; a request
// still open then fails the test), collecting what each delivered; `records` gets every step's.
inline std::map<uint64_t, Drained> DrainScheduler(Scheduler& scheduler, const std::vector<uint64_t>& ids,
                                                  std::vector<StepRecord>* records = nullptr) {
  std::map<uint64_t, Drained> out;
  std::vector<uint64_t> open = ids;
  for (int guard = 0; !open.empty() && guard < 10000; ++guard) {
    StepRecord record = scheduler.Step();
    if (records) records->push_back(record);
    for (auto it = open.begin(); it != open.end();) {
      for (const OwnedDelta& d : scheduler.TakeDeltas(*it)) {
        if (d.index != 0) continue;
        Drained& drained = out[*it];
        drained.score_after_token |= !d.prompt_tokens.empty() && (!drained.tokens.empty() || !drained.text.empty());
        drained.prompt.insert(drained.prompt.end(), d.prompt_tokens.begin(), d.prompt_tokens.end());
        for (const SampledToken& t : d.tokens) drained.tokens.push_back(t.id);
        drained.text += d.text;
      }
      if (std::optional<absl::StatusOr<GenerationResult>> result = scheduler.TakeResult(*it)) {
        EXPECT_TRUE(result->ok()) << result->status();
        it = open.erase(it);
      } else {
        ++it;
      }
    }
  }
  EXPECT_TRUE(open.empty());
  return out;
}

// `got` scores the same prompt tokens as `want`: each log-probability within `tolerance`, and the
// alternatives' rank by rank; an alternative's id must match unless a neighbour's log-probability
// is within `tolerance` of its own (a near tie another device may order the other way).
inline void ExpectScores(const std::vector<SampledToken>& got, const std::vector<SampledToken>& want,
                         float tolerance = 1e-4f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id) << "prompt token " << i + 1;
    EXPECT_NEAR(got[i].logprob, want[i].logprob, tolerance) << "prompt token " << i + 1;
    const std::vector<Candidate>& top = want[i].top;
    ASSERT_EQ(got[i].top.size(), top.size()) << "prompt token " << i + 1;
    for (size_t k = 0; k < top.size(); ++k) {
      EXPECT_NEAR(got[i].top[k].logprob, top[k].logprob, tolerance) << "prompt token " << i + 1 << " alternative " << k;
      const bool near_tie = (k > 0 && top[k - 1].logprob - top[k].logprob <= tolerance) ||
                            (k + 1 < top.size() && top[k].logprob - top[k + 1].logprob <= tolerance);
      if (!near_tie) {
        EXPECT_EQ(got[i].top[k].id, top[k].id) << "prompt token " << i + 1 << " alternative " << k;
      }
    }
  }
}

}  // namespace cai::inference::testing
