#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/inference/engine/choice_stream.h"
#include "services/inference/engine/generator.h"
#include "services/inference/engine/block_allocator.h"
#include "services/inference/engine/forward_backend.h"
#include "services/inference/engine/json_token_mask.h"

namespace cai::inference {

// Both are capped by what the backend takes in one step.
struct SchedulerOptions {
  int max_batch_tokens = 256;  // tokens per step: decodes plus prefill chunks
  int max_running = 64;        // sequences in the running batch
  // Prompt positions scored per step (prompt_logprobs), each a vocabulary-wide row of logits
  // beyond the row per sequence; also capped by what the backend's max_logit_rows leaves.
  int max_scored_positions = 64;
};

// What one step ran for one sequence (tests and benchmarks read these).
struct ScheduledChunk {
  uint64_t request = 0;
  int choice = 0;
  int64_t start = 0;   // first position computed
  int64_t tokens = 0;  // 1 for a decode step; more for a prefill (or recompute) chunk
};

struct StepRecord {
  std::vector<ScheduledChunk> chunks;
  int preempted = 0;  // sequences preempted during this step
};

// Continuous batching over a backend's paged KV cache, one step at a time (vLLM v1's shape). Each choice
// of each request is a sequence whose tokens (prompt, then generated) are computed in order;
// a step gives every running sequence its next tokens (one to decode, or a prefill chunk) and
// then admits waiting sequences while the token budget and free blocks allow, so new requests
// join at token boundaries and a long prompt is prefilled in chunks beside running decodes.
// When a running sequence needs a block and none is free, the newest running sequence is
// preempted by recompute: its blocks are freed and it goes back to the front of the queue,
// later recomputing prompt and generated tokens before it samples again. The n choices of a
// request share their prompt: choice 0 prefills it alone, and once its keys and values cover the
// prompt's whole blocks (all but at least the last token) the other choices take those blocks over
// and compute only the rest; should blocks run out before they run, they give their share back
// first. Not thread-safe; see BatchEngine for the threaded wrapper.
class Scheduler {
 public:
  // Drives `backend` (which must outlive it, and which no one else may drive meanwhile). Null
  // `tokenizer`: deltas carry no text (benchmarks).
  Scheduler(ForwardBackend& backend, const Tokenizer* tokenizer, const SchedulerOptions& options);

  // Validates and queues `request`; returns its id.
  absl::StatusOr<uint64_t> Add(const GenerationRequest& request);
  // Ends the request now: its blocks go back to the pool, it produces nothing more, and its
  // result becomes `why` (Cancelled unless the caller says otherwise, e.g. a lost backend).
  void Cancel(uint64_t id, absl::Status why = absl::CancelledError("generation cancelled"));

  // Runs one step; an empty record when there was nothing to run.
  StepRecord Step();
  bool HasWork() const { return !running_.empty() || !waiting_.empty(); }

  // Deltas produced for request `id` since the last call.
  std::vector<OwnedDelta> TakeDeltas(uint64_t id);
  // The request's outcome once it ended (and its id is then forgotten); nullopt before.
  std::optional<absl::StatusOr<GenerationResult>> TakeResult(uint64_t id);

  int64_t num_blocks() const { return allocator_.num_blocks(); }
  int64_t free_blocks() const { return allocator_.num_free(); }
  int64_t preemptions() const { return preemptions_; }

 private:
  struct Request;
  struct Sequence {
    Request* request = nullptr;
    int choice = 0;
    std::vector<int32_t> tokens;  // prompt, then every sampled token still to be fed
    int64_t computed = 0;         // positions whose keys and values are in the cache
    std::vector<int32_t> blocks;  // block table
    std::unique_ptr<ChoiceStream> stream;
    bool finished = false;
  };
  struct Request {
    uint64_t id = 0;
    GenerationRequest params;
    GenerationResult result;
    std::vector<std::unique_ptr<Sequence>> sequences;
    std::vector<OwnedDelta> deltas;
    std::vector<Sequence*> unforked;  // choices 1..n-1 until choice 0 has the shared prompt blocks
    int64_t shared_positions = 0;     // prompt positions in whole blocks the choices share
    int64_t scored = 0;  // prompt_logprobs: positions 0..scored-1 have scored the token after them
    int active = 0;
    std::optional<absl::Status> error;  // set when it ended abnormally
  };

  // The first position of `seq`'s next chunk that scores a prompt token, or nullopt when none
  // does: choice 0 of a request with prompt_logprobs scores positions 0..prompt-2 as it computes
  // them (a recompute after preemption skips those already scored).
  std::optional<int64_t> NextScoredPosition(const Sequence& seq) const;
  // Scores the prompt tokens after positions first.. of a chunk ending at position `end` (first <
  // end), whose positions first..end-1 have `logits`, into a delta of choice 0.
  void ScorePrompt(Request& request, int64_t first, int64_t end, std::span<const float> logits);
  bool Reserve(Sequence& seq, int64_t positions);
  void Preempt(Sequence& seq);
  void Release(Sequence& seq);           // finished or cancelled: blocks back, out of the queues
  void Fork(Sequence& leader);           // the waiting choices take over the leader's prompt blocks
  // Forked choices wait holding their share of the prompt's blocks. When blocks run out those
  // holds go first (such a choice recomputes its prompt later), before anything running is
  // preempted or failed. True when that freed any block.
  bool ReclaimWaiting();
  void Fail(Request& request, absl::Status status);
  // The choice's next token, from its logits or drawn by the backend; ends the choice when due.
  void Sample(Sequence& seq, std::span<const float> logits);
  void Accept(Sequence& seq, int32_t token);
  void Advance(Sequence& seq, int32_t token, std::optional<OwnedDelta> delta);

  ForwardBackend& backend_;
  const Tokenizer* tokenizer_;
  const SchedulerOptions options_;
  BlockAllocator allocator_;  // the backend's KV blocks
  absl::flat_hash_map<uint64_t, std::unique_ptr<Request>> requests_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // admission order: the back is the newest
  uint64_t next_id_ = 1;
  int64_t preemptions_ = 0;
  std::vector<float> logits_;
  std::vector<int32_t> score_order_;  // ScoreToken's scratch
  std::vector<DeviceDraw> draws_;                // per scheduled sequence (samples_on_device)
  std::vector<const DeviceDraw*> draw_of_;       // null: the sequence's logits come back instead
  std::vector<int32_t> drawn_;
  std::unique_ptr<const JsonTokenMask> json_mask_;  // with a tokenizer: JSON mode's vocabulary tries
};

}  // namespace cai::inference
