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
// its prompt's scores (prompt_logprobs), with whether any score came after a token.
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
        drained.score_after_token |= !d.prompt_tokens.empty() && !drained.tokens.empty();
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

}  // namespace cai::inference::testing
